"""A revoked API key is refused at once by every server process (real gunicorn, two workers, the CLI)."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pacte.api.models import ApiKey
from pacte.ledger.models import Entry

ACCESS_LINE = re.compile(r"^<(\d+)> (\w+) (\d{3})$")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL") and k != "PACTE_REDIS_URL"}
    env.update(PACTE_HOME=str(home), DJANGO_SETTINGS_MODULE="pacte.settings")
    return env


def _pacte(env: dict[str, str], cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pacte.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _request(method: str, url: str, secret: str, body: dict | None = None) -> tuple[int, str, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Bearer {secret}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], json.loads(error.read())


def _workers(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(line) for line in out.split()}


def _access(log: Path) -> list[tuple[int, str, int]]:
    """(worker pid, method, status) of each request gunicorn has logged so far."""
    lines = [ACCESS_LINE.match(line) for line in log.read_text().splitlines()]
    return [(int(m[1]), m[2], int(m[3])) for m in lines if m]


def _ledger_size(home: Path) -> int:
    """Count the ledger's entries, read straight from the server's SQLite file."""
    with sqlite3.connect(home / "pacte.sqlite3") as db:
        return db.execute(f"SELECT COUNT(*) FROM {Entry._meta.db_table}").fetchone()[0]  # noqa: S608


def _assert_refused_by_every_worker(log: Path, url: str, secret: str, workers: set[int], count: int) -> None:
    """Send ``count`` GETs and POSTs (more if one worker was not reached): each must be a 401 problem."""
    answered = len(_access(log))
    calls = [("GET", None), ("POST", {"purpose": "newsletter", "granted": False})] * (count // 2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda call: _request(call[0], url, secret, call[1]), calls))
        for _extra in range(10):  # until both workers are seen refusing (bounded)
            if {pid for pid, _m, _s in _access(log)[answered:]} == workers:
                break
            answers += list(pool.map(lambda call: _request(call[0], url, secret, call[1]), calls[:8]))
    statuses = [status for status, _type, _body in answers]
    assert len(answers) >= count and statuses == [401] * len(answers), statuses
    for _status, content_type, body in answers:
        assert (content_type, body["code"]) == ("application/problem+json", "api.unauthorized")
    after = _access(log)[answered:]
    assert {pid for pid, _m, _s in after} == workers
    assert {method for _pid, method, _s in after} == {"GET", "POST"}
    assert {status for _pid, _m, status in after} == {401}


@pytest.mark.slow
def test_a_revoked_key_is_refused_at_once_by_every_worker(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = _env(home)
    for alias in ("default", "keys", "telemetry"):
        _pacte(env, tmp_path, "migrate", "--database", alias, "--verbosity", "0")
    subject = _pacte(
        env,
        tmp_path,
        "shell",
        "-c",
        "from pacte.subjects.services import subject_create; print(subject_create().pk)",
    ).split()[-1]  # the last line: Django's shell may first say what it imported
    secret = _pacte(env, tmp_path, "apikey", "create", "shop").strip()
    other = _pacte(env, tmp_path, "apikey", "create", "crm").strip()
    prefix = secret.split("_")[1]

    port = _free_port()
    log = tmp_path / "access.log"
    with log.open("w") as out, (tmp_path / "gunicorn.err").open("w") as err:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "pacte.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
                "--access-logformat",
                "%(p)s %(m)s %(s)s",  # which worker answered; no client address, no query string
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}/api/v1/subjects/{subject}/consents"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.read() == b"ok"
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "gunicorn.err"
                ).read_text()
                time.sleep(0.3)
        workers = _workers(server.pid)
        assert len(workers) == 2

        # Before: the key works on both workers (each has authenticated it, GET and POST).
        with ThreadPoolExecutor(max_workers=4) as pool:
            for round_ in range(50):  # until both workers have answered POSTs (bounded): the kernel may hand
                # one idle worker every connection for a while, more so on a busy machine
                keys = [secret, other, secret, other]
                answers = list(pool.map(lambda key: _request("GET", base, key), keys))
                assert [status for status, _type, _body in answers] == [200] * 4
                granted = round_ % 2 == 0  # POSTs one at a time: SQLite has one writer
                status, _type, body = _request(
                    "POST", base, secret, {"purpose": "newsletter", "granted": granted}
                )
                assert status == 200 and body["granted"] is granted, body
                seen = _access(log)
                if round_ >= 3 and {pid for pid, method, _s in seen if method == "POST"} == workers:
                    break
        seen = _access(log)
        assert len(seen) >= 20 and {status for _pid, _m, status in seen} == {200}
        assert {pid for pid, _m, _s in seen} == workers  # both workers answered with the live key
        entries = _ledger_size(home)
        assert entries >= 4

        revoked = _pacte(env, tmp_path, "apikey", "revoke", prefix)
        assert f"Key {prefix} revoked." in revoked
        assert "effective immediately on every server process" in revoked
        # After: every request is refused, on every worker, at once (no waiting for a cache to expire).
        _assert_refused_by_every_worker(log, base, secret, workers, count=40)
        assert _ledger_size(home) == entries  # no refused POST recorded anything

        # Authentication reads the database itself: a key revoked there by any means (another
        # machine, a restore, an operator's SQL) is refused at once too, whatever cache is configured.
        assert _request("GET", base, other)[0] == 200
        with sqlite3.connect(home / "pacte.sqlite3") as db:
            db.execute(
                f"UPDATE {ApiKey._meta.db_table} SET revoked_at = CURRENT_TIMESTAMP WHERE prefix = ?",  # noqa: S608
                [other.split("_")[1]],
            )
        _assert_refused_by_every_worker(log, base, other, workers, count=8)
        assert _ledger_size(home) == entries
    finally:
        server.terminate()
        server.wait(timeout=30)
