"""``pacte newsletter send TEMPLATE [--purpose newsletter]``: a campaign, consent re-checked per person."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pacte.core.errors import PacteError
from pacte.messaging.services import CAMPAIGN_TEMPLATES, campaign_send


class Command(BaseCommand):
    help = "Newsletter campaigns: `pacte newsletter send TEMPLATE [--purpose P]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        send = sub.add_parser(
            "send", help="Queue TEMPLATE (one of messaging's CAMPAIGN_TEMPLATES) for every consenting person."
        )
        send.add_argument("template")
        send.add_argument(
            "--purpose", default="newsletter", help="The consent purpose (default: newsletter)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["template"] not in CAMPAIGN_TEMPLATES:
            valid = ", ".join(f"{name} ({label})" for name, label in sorted(CAMPAIGN_TEMPLATES.items()))
            raise CommandError(
                f"There is no campaign template {options['template']!r}. Valid templates: {valid}.",
                returncode=2,
            )

        def progress(campaign: Any) -> None:
            done = campaign.queued + campaign.skipped
            self.stdout.write(
                f"  {done}/{campaign.selected} ({campaign.queued} queued, {campaign.skipped} skipped)"
            )

        try:
            campaign = campaign_send(
                template=options["template"], purpose=options["purpose"], progress=progress
            )
        except PacteError as error:
            raise CommandError(str(error.message)) from None
        self.stdout.write(
            f"Campaign {campaign.pk}: {campaign.selected} selected, {campaign.queued} queued, {campaign.skipped} skipped."
        )
