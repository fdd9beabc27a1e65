"""`pacte receipt verify FILE [--key PEM]`: check a receipt offline (no database needed)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pacte.ledger import verifier


class Command(BaseCommand):
    help = "Verify a ledger receipt offline, with only the ledger's public key."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=argparse.ArgumentParser)
        verify = sub.add_parser(
            "verify",
            help="Check FILE's entry, inclusion proof and tree-head signature (one receipt or a bundle).",
            description="Check a receipt offline, or every receipt of a bundle such as 'Proof of my "
            "consents' (one line each): the entry's hash, its inclusion proof and the Ed25519 signature of "
            "the tree head. Uses only pacte.ledger.verifier (no database).",
        )
        verify.add_argument("file")
        verify.add_argument(
            "--key", help="the ledger's public key (PEM); default: the key inside the receipt"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        argv = [options["file"]] + (["--key", options["key"]] if options["key"] else [])
        if verifier.main(argv) != 0:
            raise CommandError("not every receipt is valid", returncode=1)
