"""`pacte policy check|render|register FILE`: validate, publish and record a policy file."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pacte.policy.loader import PolicyFileError, load_policy_file
from pacte.policy.render import notice_html, notice_markdown, register_csv, register_json


class Command(BaseCommand):
    help = "Check a policy file, render it as the privacy notice, or export the GDPR Art. 30 register."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="action", required=True, title="actions", parser_class=argparse.ArgumentParser
        )
        check = sub.add_parser(
            "check",
            help="Exit 0 when FILE is valid; otherwise print every error as FILE:LINE: key: what — fix.",
            description="Validate a policy file. Exit 0 when valid, 1 with every error otherwise.",
        )
        check.add_argument("file")
        render = sub.add_parser(
            "render",
            help="Print the privacy notice of FILE.",
            description="Print the privacy notice to stdout.",
        )
        render.add_argument("file")
        render.add_argument("--lang", choices=["fr", "en"], required=True)
        render.add_argument("--format", choices=["html", "markdown"], default="html")
        register = sub.add_parser(
            "register",
            help="Print the GDPR Art. 30 record of processing of FILE.",
            description="Print the GDPR Art. 30 record of processing (one row per purpose).",
        )
        register.add_argument("file")
        register.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            loaded = load_policy_file(options["file"])
        except PolicyFileError as error:
            for line in error.lines():
                self.stderr.write(line)
            raise CommandError(
                f"{options['file']}: {len(error.problems)} problem(s); nothing was done.", returncode=1
            ) from None
        action = options["action"]
        if action == "check":
            policy = loaded.policy
            self.stdout.write(
                f"{options['file']}: valid ({len(policy.purposes)} purposes, {len(policy.categories)} categories, "
                f"{len(policy.recipients)} recipients, {len(policy.cookies)} cookies)"
            )
        elif action == "render":
            if options["format"] == "markdown":
                self.stdout.write(notice_markdown(loaded.policy, options["lang"]))
            else:
                self.stdout.write(notice_html(loaded.policy, options["lang"]))
        else:
            render = register_json if options["format"] == "json" else register_csv
            self.stdout.write(render(loaded.policy), ending="")
