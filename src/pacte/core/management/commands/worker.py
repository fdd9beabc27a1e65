"""`pacte worker`: one task worker (django-tasks database backend)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run one task worker alone (start as many as you like, on as many machines)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--queue-name", default="*", help="Queues to process, comma-separated ('*' = all)."
        )
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls when idle.")
        parser.add_argument("--batch", action="store_true", help="Run every waiting task, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command(
            "db_worker",
            queue_name=options["queue_name"],
            interval=options["interval"],
            batch=options["batch"],
            reload=False,
            startup_delay=False,
            verbosity=options["verbosity"],
        )
