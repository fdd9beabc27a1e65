"""`pacte scheduler`: enqueue the registered periodic tasks when they are due."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand

from pacte.core import schedule


class Command(BaseCommand):
    help = "Enqueue the periodic tasks (retention sweeps, tree-head signing…) when they are due."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tick", type=float, default=5.0, help="Seconds between two looks at the clock.")
        parser.add_argument("--once", action="store_true", help="Enqueue every task once, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        last_run: dict[str, float] = {}
        while not stopping:
            now = time.monotonic()
            for periodic in schedule.registered():
                previous = last_run.get(periodic.name)
                if options["once"] or previous is None or now - previous >= periodic.every.total_seconds():
                    periodic.task.enqueue()
                    last_run[periodic.name] = now
                    self.stdout.write(f"enqueued {periodic.name}")
            if options["once"]:
                return
            time.sleep(options["tick"])
