"""``pacte rights list [--overdue] | export SUBJECT_ID --out FILE | erase SUBJECT_ID [--yes]``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pacte.rights import exports, selectors
from pacte.rights import models as rights_models
from pacte.rights.flows import erasure
from pacte.subjects.models import Subject
from pacte.subjects.selectors import subject_get


class Command(BaseCommand):
    help = "Data-subject rights for operators: list requests, export a subject's data, erase a subject."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="Open requests by due date.")
        listing.add_argument("--overdue", action="store_true", help="Only requests past their deadline.")
        export = sub.add_parser(
            "export",
            help="Write a subject's data as the portal's ZIP file, unencrypted (keep it safe, delete it after use).",
        )
        export.add_argument("subject_id")
        export.add_argument("--out", required=True, help="Path of the ZIP file to write.")
        export.add_argument("--lang", default="fr", choices=["fr", "en"])
        erase = sub.add_parser("erase", help="Erase a subject (resumable; legal holds kept).")
        erase.add_argument("subject_id")
        erase.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "do_" + options["action"])(options)

    def _subject(self, subject_id: str) -> Subject:
        try:
            subject = subject_get(subject_id=subject_id)
        except Exception:  # a malformed UUID
            subject = None
        if subject is None:
            raise CommandError(f"There is no subject {subject_id!r} (give the subject's UUID).")
        return subject

    def do_list(self, options: dict) -> None:
        rows = selectors.request_list_open(overdue=options["overdue"])
        now = rights_models.now()
        for row in rows:
            flag = "OVERDUE" if row.deadline < now else ""
            self.stdout.write(
                f"{row.pk}  {row.kind:<13} {row.channel:<6} received {row.received_at:%Y-%m-%d}"
                f"  due {row.deadline:%Y-%m-%d}  {row.status:<11} {flag}".rstrip()
            )
        self.stdout.write(f"{len(rows)} request(s).")

    def do_export(self, options: dict) -> None:
        subject = self._subject(options["subject_id"])
        with open(options["out"], "wb") as out:
            counts = exports.export_write(subject=subject, out=out, lang=options["lang"])
        self.stdout.write(
            f"Wrote {options['out']}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )

    def do_erase(self, options: dict) -> None:
        subject = self._subject(options["subject_id"])
        if not options["yes"]:
            answer = input(f"Erase subject {subject.pk} for good? Type 'yes': ")
            if answer.strip().lower() != "yes":
                raise CommandError("Nothing erased.")
        request = erasure.erasure_of_subject(subject=subject, recorded_by="system")
        if request is None:
            self.stdout.write(f"Subject {subject.pk} is already erased.")
            return
        self.stdout.write(f"Subject {subject.pk} erased: steps {', '.join(request.steps_done)}.")
