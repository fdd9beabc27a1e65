"""`pacte serve`: migrate, load the policy, then run the web server, a worker and the scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Migrate every database, load and check the policy file, then start the production web server "
        "(gunicorn), one task worker and the periodic scheduler in the foreground. Ctrl-C stops them all."
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

        children: list[tuple[str, subprocess.Popen[bytes]]] = []
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, command in commands:
            # Each child is its own process group leader so a terminal's Ctrl-C reaches us only;
            # we then stop each child in order.
            children.append((name, subprocess.Popen(command, env=env, start_new_session=True)))
        self.stdout.write(
            f"Pacte is serving http://{bind}/ (Ctrl-C stops the web server, worker and scheduler)."
        )
        self.stdout.flush()

        exit_code = 0
        while not stopping:
            for name, child in children:
                code = child.poll()
                if code is not None:
                    self.stderr.write(f"{name} stopped unexpectedly (exit {code}); stopping Pacte.")
                    stopping = True
                    exit_code = code or 1
            time.sleep(0.2)

        for _name, child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self.stdout.write("Pacte stopped.")
        if exit_code:
            raise CommandError("A component stopped unexpectedly.", returncode=exit_code)
