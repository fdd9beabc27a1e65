"""`pacte serve` as an operator runs it: a real process tree, stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(PACTE_HOME=str(home), DJANGO_SETTINGS_MODULE="pacte.settings")
    return env


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
