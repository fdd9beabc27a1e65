"""The supervisor behind `pacte serve`, with real child processes and short back-off delays."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pacte.core.management.commands.serve import Child, Supervisor, _die_with_parent

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _exits(code: int, tally: Path) -> list[str]:
    """A child that notes each start in ``tally`` and exits with ``code`` at once."""
    script = f"open({str(tally)!r}, 'a').write('x'); raise SystemExit({code})"
    return [sys.executable, "-c", script]


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except FileNotFoundError:
        return False


def test_a_stopped_worker_is_restarted_with_growing_backoff_and_the_web_keeps_running(tmp_path: Path) -> None:
    tally = tmp_path / "starts"
    said: list[str] = []
    web = Child("web", SLEEPER)
    worker = Child("worker", _exits(3, tally), restart=True)
    supervisor = Supervisor(
        [web, worker],
        say=said.append,
        backoff_first=0.05,
        backoff_max=0.2,
        max_restarts=100,
        poll_interval=0.01,
    )

    def say(line: str) -> None:
        said.append(line)
        if len(said) == 4:
            supervisor.request_stop()

    supervisor.say = say
    supervisor.start()
    assert web.process is not None
    web_pid = web.process.pid

    assert supervisor.run() == 0

    assert said == [
        "worker stopped (exit 3); restarting in 0.05s",
        "worker stopped (exit 3); restarting in 0.1s",
        "worker stopped (exit 3); restarting in 0.2s",
        "worker stopped (exit 3); restarting in 0.2s",
    ]
    assert tally.read_text() == "xxxx"  # the first start and three restarts; the fourth was cancelled
    assert supervisor.failure is None
    assert web.process.pid == web_pid  # never restarted, stopped only at the end
    assert web.process.returncode == -signal.SIGTERM


def test_a_worker_that_keeps_failing_stops_everything_with_a_reason(tmp_path: Path) -> None:
    tally = tmp_path / "starts"
    said: list[str] = []
    web = Child("web", SLEEPER)
    worker = Child("worker", _exits(3, tally), restart=True)
    supervisor = Supervisor(
        [web, worker], say=said.append, backoff_first=0.01, max_restarts=5, window=60, poll_interval=0.01
    )
    supervisor.start()

    assert supervisor.run() == 1

    assert tally.read_text() == "xxxxx"
    assert said[:4] == [
        "worker stopped (exit 3); restarting in 0.01s",
        "worker stopped (exit 3); restarting in 0.02s",
        "worker stopped (exit 3); restarting in 0.04s",
        "worker stopped (exit 3); restarting in 0.08s",
    ]
    assert said[4] == "worker stopped 5 times within 60 s (last: exit 3); stopping Pacte."
    assert supervisor.failure == said[4]
    assert web.process is not None and web.process.returncode == -signal.SIGTERM


def test_restarts_spread_wider_than_the_window_never_stop_pacte(tmp_path: Path) -> None:
    tally = tmp_path / "starts"
    said: list[str] = []
    worker = Child("worker", _exits(0, tally), restart=True)
    supervisor = Supervisor(
        [Child("web", SLEEPER), worker],
        backoff_first=0.1,
        backoff_max=0.1,
        max_restarts=3,
        window=0.15,
        poll_interval=0.01,
    )

    def say(line: str) -> None:
        said.append(line)
        if len(said) == 6:
            supervisor.request_stop()

    supervisor.say = say
    supervisor.start()
    assert supervisor.run() == 0
    assert supervisor.failure is None
    assert said == ["worker stopped (exit 0); restarting in 0.1s"] * 6


def test_the_web_server_stopping_is_fatal_and_stops_the_others(tmp_path: Path) -> None:
    tally = tmp_path / "starts"
    said: list[str] = []
    worker = Child("worker", SLEEPER, restart=True)
    web = Child("web", _exits(4, tally))
    supervisor = Supervisor([web, worker], say=said.append, poll_interval=0.01)
    supervisor.start()

    assert supervisor.run() == 4

    assert tally.read_text() == "x"  # not restarted
    assert said == ["web stopped unexpectedly (exit 4); stopping Pacte."]
    assert worker.process is not None and worker.process.returncode == -signal.SIGTERM


def test_a_killed_worker_is_named_by_its_signal(tmp_path: Path) -> None:
    said: list[str] = []
    worker = Child("worker", SLEEPER, restart=True)
    supervisor = Supervisor([worker], backoff_first=5, poll_interval=0.01)

    def say(line: str) -> None:
        said.append(line)
        supervisor.request_stop()

    supervisor.say = say
    supervisor.start()
    assert worker.process is not None
    worker.process.kill()
    assert supervisor.run() == 0
    assert said == ["worker stopped (exit -9, SIGKILL); restarting in 5s"]


def test_a_child_whose_parent_already_died_exits_before_running_its_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    not_our_pid = os.getpid() + 1_000_000
    child = subprocess.Popen(
        [sys.executable, "-c", f"open({str(marker)!r}, 'w')"],
        preexec_fn=_die_with_parent(not_our_pid),
    )
    assert child.wait(timeout=10) == 1
    assert not marker.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_children_die_when_the_supervisor_is_killed_outright(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pacte.core.management.commands.serve import Child, Supervisor\n"
        f"s = Supervisor([Child('web', {SLEEPER!r}), Child('worker', {SLEEPER!r}, restart=True)])\n"
        "s.start()\n"
        "print(' '.join(str(c.process.pid) for c in s.children), flush=True)\n"
        "s.run()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in pids)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
