"""`pacte ledger verify|sign|receipt`: check the whole ledger, sign a head, export a receipt."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pacte.core.errors import PacteError
from pacte.ledger import selectors, services


class Command(BaseCommand):
    help = "Verify the ledger, sign a tree head now, or write the receipt of one entry."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=argparse.ArgumentParser)
        sub.add_parser(
            "verify",
            help="Recompute every leaf, the tree, every signed head and their consistency.",
            description="Exit 0 when the ledger is intact; exit 1 naming the first bad sequence number.",
        )
        sub.add_parser(
            "sign", help="Sign a tree head for the current size now.", description="Sign a tree head now."
        )
        receipt = sub.add_parser(
            "receipt",
            help="Write the receipt of entry SEQ (JSON).",
            description="Write the receipt of one entry.",
        )
        receipt.add_argument("seq", type=int)
        receipt.add_argument("--out", help="file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            started = time.perf_counter()
            report = selectors.ledger_verify()
            elapsed = time.perf_counter() - started
            if not report.ok:
                raise CommandError(
                    f"ledger NOT intact: first bad sequence number {report.bad_seq}: {report.problem}",
                    returncode=1,
                )
            self.stdout.write(
                f"ledger intact: {report.entries} entries, {report.heads} signed tree heads ({elapsed:.2f} s)"
            )
        elif options["action"] == "sign":
            head = services.sth_sign()
            self.stdout.write(
                "ledger is empty: nothing to sign" if head is None else f"signed tree head {head.tree_size}"
            )
        else:
            try:
                document = json.dumps(selectors.receipt_build(seq=options["seq"]), indent=2)
            except PacteError as error:
                raise CommandError(str(error.message), returncode=1) from None
            if options["out"]:
                with open(options["out"], "w", encoding="utf-8") as handle:
                    handle.write(document + "\n")
                self.stdout.write(f"receipt of entry {options['seq']} written to {options['out']}")
            else:
                self.stdout.write(document)
