"""`pacte vault rotate|status|new-key`: operate the master key ring."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pacte.vault import selectors, services
from pacte.vault.errors import MasterKeyError
from pacte.vault.keyring import master_key_ring, new_master_key_line


class Command(BaseCommand):
    help = "Operate the vault: re-wrap every data key under the newest master key, show status, make a key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=argparse.ArgumentParser)
        rotate = sub.add_parser(
            "rotate",
            help="Re-wrap every data key under the newest (first) master key; resumable.",
            description="Re-wrap every data key and system secret under the first key of PACTE_MASTER_KEYS. "
            "Safe to interrupt and run again: it resumes where it stopped. Afterwards the old master key "
            "can be removed from PACTE_MASTER_KEYS.",
        )
        rotate.add_argument("--batch-size", type=int, default=500)
        sub.add_parser(
            "status",
            help="Count data keys per master key id.",
            description="Count data keys per master key id.",
        )
        new = sub.add_parser(
            "new-key",
            help="Print a new random master key line (id:base64).",
            description="Print a new master key.",
        )
        new.add_argument("--id", default="k2")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "new-key":
                self.stdout.write(new_master_key_line(options["id"]))
            elif options["action"] == "status":
                ring = master_key_ring()
                self.stdout.write(f"primary master key: {ring.primary} (configured: {', '.join(ring.keys)})")
                for key_id, count in sorted(selectors.keys_by_master_key().items()):
                    self.stdout.write(f"{key_id}: {count} data keys")
            else:

                def progress(done: int, total: int) -> None:
                    width = 30
                    filled = int(width * done / total) if total else width
                    sys.stderr.write(
                        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} keys re-wrapped"
                    )
                    sys.stderr.flush()

                count = services.keys_rewrap(batch_size=options["batch_size"], progress=progress)
                sys.stderr.write("\n")
                self.stdout.write(f"{count} keys re-wrapped under master key '{master_key_ring().primary}'.")
        except MasterKeyError as error:
            raise CommandError(str(error.message), returncode=1) from None
