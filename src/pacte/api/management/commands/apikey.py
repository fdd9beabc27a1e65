"""``pacte apikey create NAME | revoke PREFIX | list``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pacte.api.models import ApiKey
from pacte.api.services import apikey_create, apikey_revoke
from pacte.core.errors import PacteError


class Command(BaseCommand):
    help = "API keys for the operator's other systems: create (the secret is shown once), revoke, list."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print its secret once.")
        create.add_argument("name")
        revoke = sub.add_parser("revoke", help="Revoke the key with this prefix.")
        revoke.add_argument("prefix")
        sub.add_parser("list", help="List keys (prefix, name, created, revoked).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            key, secret = apikey_create(name=options["name"])
            self.stdout.write(secret)
            self.stderr.write(f"Key {key.prefix} created. Keep the secret above: it cannot be shown again.")
        elif options["action"] == "revoke":
            try:
                key = apikey_revoke(prefix=options["prefix"])
            except PacteError as error:
                raise CommandError(str(error.message)) from None
            # Authentication is not cached: no server process accepts the key after this commit.
            self.stdout.write(
                f"Key {key.prefix} revoked. The revocation is effective immediately on every server process."
            )
        else:
            for key in ApiKey.objects.order_by("created_at"):
                state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                self.stdout.write(f"{key.prefix}  {key.name}  created {key.created_at:%Y-%m-%d}  {state}")
