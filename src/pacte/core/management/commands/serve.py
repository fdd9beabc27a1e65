"""`pacte serve`: migrate, load the policy, then run the web server, a worker and the scheduler."""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

# A restarted worker or scheduler waits 1 s, 2 s, 4 s… (at most 30 s) before it starts again; one that
# stops MAX_RESTARTS times within RESTART_WINDOW seconds is broken, and Pacte stops rather than spin.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
# A child that ran this long before it stopped was healthy: its next back-off starts again at 1 s.
STABLE_AFTER = 60.0
STOP_TIMEOUT = 15.0

PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    """Return libc's prctl on Linux (loaded now: after fork only async-signal-safe work is allowed)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


_PRCTL = _load_prctl()


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    """Return a ``preexec_fn`` that makes the child receive SIGTERM when ``parent_pid`` dies.

    Without it, a ``pacte serve`` killed with SIGKILL leaves gunicorn, the worker and the scheduler
    running (and the port taken). The parent may die between fork and prctl; the child then already
    belongs to another parent and would never get the signal, so it checks and exits.
    """

    def preexec() -> None:
        if _PRCTL is not None:
            _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"exit {code}, {signal.Signals(-code).name}"
        except ValueError:
            return f"exit {code}"
    return f"exit {code}"


@dataclass
class Child:
    """One supervised process: the web server (fatal if it stops) or a restartable worker/scheduler."""

    name: str
    command: list[str]
    restart: bool = False
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    # When a stopped restartable child is due to start again (None while it runs).
    restart_at: float | None = None
    failures: int = 0
    stops: collections.deque[float] = field(default_factory=collections.deque)


class Supervisor:
    """Run children, restart the restartable ones with back-off, and stop them all when asked or broken.

    ``run()`` returns 0 after ``request_stop`` (Ctrl-C, SIGTERM) and non-zero when a child that may not
    be restarted stops, or a restartable one stops ``max_restarts`` times within ``window`` seconds;
    ``failure`` then says why. Every child is stopped (SIGTERM, then SIGKILL) before ``run()`` returns.
    """

    def __init__(
        self,
        children: list[Child],
        *,
        env: dict[str, str] | None = None,
        say: Callable[[str], Any] = print,
        backoff_first: float = BACKOFF_FIRST,
        backoff_max: float = BACKOFF_MAX,
        max_restarts: int = MAX_RESTARTS,
        window: float = RESTART_WINDOW,
        stable_after: float = STABLE_AFTER,
        poll_interval: float = 0.2,
    ) -> None:
        self.children = children
        self.env = env
        self.say = say
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.max_restarts = max_restarts
        self.window = window
        self.stable_after = stable_after
        self.poll_interval = poll_interval
        self.stopping = False
        self.failure: str | None = None

    def request_stop(self, signum: int = 0, frame: Any = None) -> None:
        """Ask ``run()`` to stop every child and return (safe to call from a signal handler)."""
        self.stopping = True

    def _spawn(self, child: Child) -> None:
        # Each child is its own process group leader so a terminal's Ctrl-C reaches us only; we then stop
        # each child in order. It also dies with us if we are killed outright (PR_SET_PDEATHSIG).
        child.process = subprocess.Popen(
            child.command,
            env=self.env,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        child.started_at = time.monotonic()
        child.restart_at = None

    def start(self) -> None:
        """Start every child."""
        for child in self.children:
            self._spawn(child)

    def _stopped(self, child: Child, code: int, now: float) -> int | None:
        """Handle an unexpected stop; return an exit code when Pacte must stop."""
        child.process = None
        if not child.restart:
            self.failure = f"{child.name} stopped unexpectedly ({_describe_exit(code)}); stopping Pacte."
            return code if code > 0 else 1
        child.stops.append(now)
        while child.stops and now - child.stops[0] > self.window:
            child.stops.popleft()
        if len(child.stops) >= self.max_restarts:
            self.failure = (
                f"{child.name} stopped {len(child.stops)} times within {self.window:g} s "
                f"(last: {_describe_exit(code)}); stopping Pacte."
            )
            return 1
        child.failures = 1 if now - child.started_at >= self.stable_after else child.failures + 1
        delay = min(self.backoff_max, self.backoff_first * 2 ** (child.failures - 1))
        child.restart_at = now + delay
        self.say(f"{child.name} stopped ({_describe_exit(code)}); restarting in {delay:g}s")
        return None

    def run(self) -> int:
        """Supervise until asked to stop or a child fails for good; stop every child; return the exit code."""
        exit_code = 0
        try:
            while not self.stopping:
                now = time.monotonic()
                for child in self.children:
                    if child.process is None:
                        if child.restart_at is not None and now >= child.restart_at and not self.stopping:
                            self._spawn(child)
                        continue
                    code = child.process.poll()
                    if code is None:
                        continue
                    fatal = self._stopped(child, code, now)
                    if fatal is not None:
                        self.say(self.failure or "")
                        exit_code = fatal
                        self.stopping = True
                        break
                if not self.stopping:
                    time.sleep(self.poll_interval)
        finally:
            # Also when a restart itself fails (Popen raising): never leave children behind.
            self.stop_all()
        return exit_code

    def stop_all(self, timeout: float = STOP_TIMEOUT) -> None:
        """Send SIGTERM to every running child, wait up to ``timeout`` seconds, then SIGKILL the rest."""
        running = [c.process for c in self.children if c.process is not None]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Command(BaseCommand):
    help = (
        "Migrate every database, load and check the policy file, then start the production web server "
        "(gunicorn), one task worker and the periodic scheduler in the foreground. A worker or scheduler "
        "that stops is restarted; Ctrl-C stops them all."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--policy", help="Policy file to obey (default: $PACTE_POLICY or the demo policy)."
        )
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on (default 8000).")
        parser.add_argument(
            "--web-workers",
            type=int,
            default=int(os.environ.get("PACTE_WEB_WORKERS", "0")) or min(4, (os.cpu_count() or 1) + 1),
            help="Gunicorn worker processes (default: cores + 1, at most 4).",
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not start the task worker.")
        parser.add_argument("--no-scheduler", action="store_true", help="Do not start the scheduler.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["policy"]:
            policy_path = str(Path(options["policy"]).resolve())
            os.environ["PACTE_POLICY"] = policy_path
            settings.PACTE_POLICY_FILE = policy_path

        # Not at the top: the supervisor processes import this module before Django is set up, and
        # policy.services imports models.
        from pacte.policy.loader import PolicyFileError
        from pacte.policy.services import policy_check_file, policy_version_record_active

        try:
            policy_check_file(path=Path(settings.PACTE_POLICY_FILE))
        except PolicyFileError as error:
            for line in error.lines():
                self.stderr.write(line)
            raise CommandError("The policy file is invalid; Pacte did not start.", returncode=1) from None

        # System checks run now, after the policy is known to load (they compare code and policy).
        self.check(display_num_errors=True)
        for alias in settings.DATABASES:
            call_command("migrate", database=alias, interactive=False, verbosity=0)
        version = policy_version_record_active()
        self.stdout.write(f"Policy {settings.PACTE_POLICY_FILE} loaded (version {version.number}).")

        env = dict(os.environ, PACTE_POLICY=settings.PACTE_POLICY_FILE)
        bind = f"{options['host']}:{options['port']}"
        commands: list[tuple[str, list[str]]] = [
            (
                "web",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "pacte.wsgi:application",
                    "--bind",
                    bind,
                    "--workers",
                    str(options["web_workers"]),
                    "--graceful-timeout",
                    "10",
                    "--access-logfile",
                    "-",
                    # Redacts tokens, UUIDs and ids from every path it logs (pacte/core/accesslog.py).
                    "--logger-class",
                    "pacte.core.accesslog.RedactingLogger",
                    # gunicorn's control socket would be one per user (~/.gunicorn), shared by every
                    # instance on the machine; Pacte is stopped by its own signals.
                    "--no-control-socket",
                    # Path only (%(U)s has no query string) and no client address: no personal data.
                    "--access-logformat",
                    '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)ss',
                ],
            )
        ]
        if not options["no_worker"]:
            commands.append(("worker", [sys.executable, "-m", "pacte.cli", "worker"]))
        if not options["no_scheduler"]:
            commands.append(("scheduler", [sys.executable, "-m", "pacte.cli", "scheduler"]))

        supervisor = Supervisor(
            [Child(name, command, restart=name != "web") for name, command in commands],
            env=env,
            say=self.stderr.write,
        )
        signal.signal(signal.SIGINT, supervisor.request_stop)
        signal.signal(signal.SIGTERM, supervisor.request_stop)
        supervisor.start()
        self.stdout.write(
            f"Pacte is serving http://{bind}/ (Ctrl-C stops the web server, worker and scheduler)."
        )
        self.stdout.flush()
        exit_code = supervisor.run()
        self.stdout.write("Pacte stopped.")
        if exit_code:
            # The supervisor has already said which component failed and why.
            raise CommandError("A component stopped unexpectedly.", returncode=exit_code)
