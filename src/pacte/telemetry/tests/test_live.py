"""A real `pacte serve` with two web workers: hits reach the telemetry database off the request path,
and a crash (SIGKILL) loses at most what the buffers held."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.live import Browser, free_port, start_serve, stop_serve

pytestmark = pytest.mark.slow


def _descendants(root: int) -> list[int]:
    """The pids of every process below ``root`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _rows(home: Path) -> int:
    path = home / "telemetry.sqlite3"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        return db.execute("SELECT COUNT(*) FROM telemetry_hit").fetchone()[0]


def _visit(port: int, n: int) -> int:
    # Loopback addresses all truncate to 127.0.0.0: distinct browsers make distinct visitors.
    status, _, _ = Browser(port).request(
        "GET", "/privacy/" if n % 2 else "/", headers={"User-Agent": f"Mozilla/5.0 Live/{n}"}
    )
    return status


def _wait_rows(home: Path, expected: int, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    rows = 0
    while time.monotonic() < deadline:
        rows = _rows(home)
        if rows >= expected:
            return rows
        time.sleep(0.25)
    return rows


def test_hits_from_two_web_workers_reach_the_telemetry_database_and_a_crash_loses_one_buffer(
    tmp_path, capsys
) -> None:
    home = tmp_path / "home"
    port = free_port()
    proc = start_serve(
        tmp_path, port, tmp_path / "serve.log", home, "--web-workers", "2", "--no-worker", "--no-scheduler"
    )
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            assert set(pool.map(lambda n: _visit(port, n), range(60))) == {200}
        # Written by the flush threads within PACTE_TELEMETRY_FLUSH_SECONDS (2 s), no request needed.
        assert _wait_rows(home, 60) == 60

        with ThreadPoolExecutor(max_workers=4) as pool:
            assert set(pool.map(lambda n: _visit(port, n), range(100, 150))) == {200}
        # A crash: SIGKILL every process of this `pacte serve` at once (gunicorn's master and workers
        # included), so no clean stop and no atexit flush runs anywhere.
        for pid in [*_descendants(proc.pid), proc.pid]:
            os.kill(pid, signal.SIGKILL)
        proc.wait()
    finally:
        stop_serve(proc)
    time.sleep(1)
    lost = 110 - _rows(home)
    with capsys.disabled():
        print(f"\n[telemetry] SIGKILL right after 50 hits: {lost} hits lost (buffers held at most 50)")
    assert 0 <= lost <= 50
