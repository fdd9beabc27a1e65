"""Helpers for tests that run Pacte as real processes: `pacte serve`, the CLI, and a small HTTP client.

These tests check promises on a live system (several processes, real files under PACTE_HOME), which a
test client inside one process cannot show.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path


def free_port() -> int:
    """Return a TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pacte_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a Pacte process on the embedded default (SQLite files under ``home``)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(PACTE_HOME=str(home), DJANGO_SETTINGS_MODULE="pacte.settings", **extra)
    return env


def pacte(home: Path, *args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run one `pacte` command against ``home`` and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "pacte.cli", *args],
        env=pacte_env(home, **extra),
        capture_output=True,
        text=True,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"pacte {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done


def http_get(url: str) -> tuple[int, bytes]:
    """GET ``url``; return the status and body (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def start_serve(
    tmp_path: Path, port: int, log: Path, home: Path | None = None, *options: str
) -> subprocess.Popen[str]:
    """Start a real `pacte serve` (one web worker unless ``options`` say otherwise); wait until it answers."""
    if "--web-workers" not in options:
        options = ("--web-workers", "1", *options)
    with log.open("a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pacte.cli", "serve", "--port", str(port), *options],
            cwd=tmp_path,
            env=pacte_env(home or tmp_path / "home"),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    raise AssertionError(f"pacte serve did not answer:\n{log.read_text()}")


def stop_serve(proc: subprocess.Popen[str]) -> None:
    """Stop a `pacte serve` with Ctrl-C (or kill it if it does not stop)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Browser:
    """An HTTP client with its own cookies, speaking from one loopback address (127.0.0.N)."""

    def __init__(self, port: int, source: str = "127.0.0.1", lang: str = "en") -> None:
        self.port, self.source, self.lang = port, source, lang
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, str]:
        """Send one request; return (status, Location, body text)."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=30, source_address=(self.source, 0)
        )
        sent = {"Accept-Language": self.lang, "Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        text = response.read().decode(errors="replace")
        connection.close()
        return response.status, response.getheader("Location") or "", text

    def submit(self, path: str, fields: dict[str, str]) -> tuple[int, str, str]:
        """GET the form at ``path``, then POST ``fields`` to it with its CSRF token."""
        _status, _location, page = self.request("GET", path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        return self.request("POST", path, {"csrfmiddlewaretoken": token.group(1), **fields})

    def login(self, email: str, password: str) -> tuple[int, str, str]:
        """Post allauth's sign-in form."""
        return self.submit("/accounts/login/", {"login": email, "password": password})
