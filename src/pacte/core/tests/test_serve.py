"""`pacte serve` as an operator runs it: a real process tree, stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tests.live import free_port as _free_port
from tests.live import http_get as _get
from tests.live import pacte_env as _env
from tests.live import start_serve, stop_serve  # noqa: F401  (used by other tests too)

REPO = Path(__file__).resolve().parents[4]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _named_children(pid: int) -> dict[str, int]:
    """The children of `pacte serve` by role: web (gunicorn master), worker, scheduler."""
    named = {}
    for child in _children(pid):
        command = _cmdline(child)
        for name, marker in (("web", "gunicorn"), ("worker", "pacte.cli worker"), ("scheduler", "scheduler")):
            if marker in command:
                named[name] = child
    return named


@pytest.mark.slow
def test_a_killed_worker_is_restarted_and_a_killed_serve_leaves_no_orphan(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    proc = start_serve(tmp_path, port, log)
    survivors: list[int] = []
    try:
        before = _named_children(proc.pid)
        assert set(before) == {"web", "worker", "scheduler"}
        os.kill(before["worker"], signal.SIGKILL)

        # The web server keeps answering while the worker is restarted (after 1 s of back-off).
        deadline = time.monotonic() + 10
        after: dict[str, int] = {}
        while time.monotonic() < deadline:
            assert _get(f"http://127.0.0.1:{port}/")[0] == 200
            after = _named_children(proc.pid)
            if after.get("worker") not in (None, before["worker"]):
                break
            time.sleep(0.2)
        assert after.get("worker") not in (None, before["worker"]), log.read_text()
        assert after["web"] == before["web"] and after["scheduler"] == before["scheduler"]
        assert "worker stopped (exit -9, SIGKILL); restarting in 1s" in log.read_text()
        assert proc.poll() is None

        # SIGKILL cannot be caught: the children must notice on their own (PR_SET_PDEATHSIG).
        web_workers = _children(after["web"])
        assert len(web_workers) == 1
        every_pid = [*after.values(), *web_workers]
        assert all(_alive(pid) for pid in every_pid)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid) for pid in every_pid):
            time.sleep(0.2)
        survivors = [pid for pid in every_pid if _alive(pid)]
        assert survivors == [], [_cmdline(pid) for pid in survivors]

        # The port is free again: a new `pacte serve` starts on it and answers.
        second = start_serve(tmp_path, port, tmp_path / "serve2.log")
        try:
            assert _get(f"http://127.0.0.1:{port}/healthz") == (200, b"ok")
        finally:
            stop_serve(second)
        assert second.returncode == 0, (tmp_path / "serve2.log").read_text()
    finally:
        stop_serve(proc)
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_serve_migrates_serves_and_stops_every_child_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pacte.cli", "serve", "--port", str(port), "--web-workers", "1"],
        cwd=tmp_path,
        env=_env(tmp_path / "home"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        body = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    body = response.read()
                    break
            except OSError:
                if proc.poll() is not None:
                    break
                time.sleep(0.3)
        assert body == b"ok", proc.stdout.read() if proc.poll() is not None else "server did not answer"
        children = _children(proc.pid)
        assert len(children) == 3  # web server, worker, scheduler
        for name in ("pacte.sqlite3", "keys.sqlite3", "telemetry.sqlite3"):
            assert (tmp_path / "home" / name).exists()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "Pacte stopped." in out
        for child in children:
            assert (
                not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text()
            )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_production_mode_without_secret_key_refuses_to_start(tmp_path: Path) -> None:
    env = _env(tmp_path / "home")
    env.pop("PACTE_SECRET_KEY", None)
    env["PACTE_MODE"] = "production"
    result = subprocess.run(
        [sys.executable, "-m", "pacte.cli", "check"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "PACTE_SECRET_KEY is not set" in result.stderr
