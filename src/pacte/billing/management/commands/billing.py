"""``pacte billing invoices --month YYYY-MM --out DIR``: the month's documents for the accountant.

Writes every invoice and credit note issued in the month (local time) as its Factur-X PDF
(``F-00000001.pdf``, ``AV-00000001.pdf``) and the sales journal ``journal-YYYY-MM.csv`` (one line per
document, amounts per VAT rate, credit notes negative). The files hold buyers' names: keep the folder
as safely as the books.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pacte.billing.invoice_render import JOURNAL_HEADER, invoice_facturx, invoice_filename, journal_row
from pacte.billing.invoice_selectors import invoice_list_for_month
from pacte.core.errors import PacteError


class Command(BaseCommand):
    help = "Billing for operators: export a month's invoices and credit notes for the accountant."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser(
            "invoices",
            help="Write the month's invoices and credit notes as Factur-X PDFs plus a CSV sales journal.",
            description=(
                "Write every invoice and credit note issued in MONTH (local time) into DIR as its "
                "Factur-X PDF (PDF/A-3 with the EN 16931 XML inside), and journal-MONTH.csv, one line per "
                "document (amounts in euros per VAT rate; credit notes negative). The files name the "
                "buyers: keep them as safely as the books."
            ),
        )
        export.add_argument("--month", required=True, metavar="YYYY-MM", help="The month, e.g. 2025-03.")
        export.add_argument(
            "--out", required=True, metavar="DIR", help="Folder to write into (created if missing)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "do_" + options["action"])(options)

    def do_invoices(self, options: dict[str, Any]) -> None:
        month = options["month"]
        try:
            documents = list(invoice_list_for_month(month=month))
        except PacteError as refused:
            raise CommandError(str(refused.message)) from None
        out = Path(options["out"])
        if out.exists() and not out.is_dir():
            raise CommandError(f"{out} is a file, not a folder: give a folder for --out.")
        try:
            out.mkdir(parents=True, exist_ok=True)
            journal = out / f"journal-{month}.csv"
            with journal.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(JOURNAL_HEADER)
                for document in documents:
                    (out / invoice_filename(document)).write_bytes(invoice_facturx(document))
                    writer.writerow(journal_row(document))
        except OSError as failed:
            raise CommandError(f"Cannot write into {out}: {failed.strerror}.") from None
        invoices = sum(1 for document in documents if not document.is_credit_note)
        self.stdout.write(
            f"{month}: {invoices} invoice(s) and {len(documents) - invoices} credit note(s) written to {out}; "
            f"journal {journal.name}."
        )
