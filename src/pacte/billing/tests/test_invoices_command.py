"""``pacte billing invoices --month YYYY-MM --out DIR``: the month's Factur-X PDFs and the sales journal."""

from __future__ import annotations

import csv
import datetime
import io
import os
import subprocess
import sys
from pathlib import Path

import facturx
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from pacte.billing import invoices
from pacte.billing.tests.test_invoices import paid_order, shop  # noqa: F401 - the fixture
from pacte.commerce.tests.helpers import DBS

pytestmark = pytest.mark.django_db(databases=DBS)
REPO = Path(__file__).resolve().parents[4]


def _at(monkeypatch: pytest.MonkeyPatch, day: str) -> None:
    moment = datetime.datetime.fromisoformat(day + "T12:00:00").replace(
        tzinfo=timezone.get_current_timezone()
    )
    monkeypatch.setattr(timezone, "now", lambda: moment)


def test_the_month_export_writes_its_documents_and_a_journal_and_nothing_of_other_months(
    shop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    _at(monkeypatch, "2025-03-10")
    march = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    _at(monkeypatch, "2025-03-31")
    invoices.credit_note_issue(invoice=march, amount=1266, actor="staff:1")
    _at(monkeypatch, "2025-04-01")
    invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    monkeypatch.undo()

    out = tmp_path / "compta" / "2025-03"
    stdout = io.StringIO()
    call_command("billing", "invoices", "--month", "2025-03", "--out", str(out), stdout=stdout)
    assert stdout.getvalue().startswith("2025-03: 1 invoice(s) and 1 credit note(s) written to")
    assert sorted(path.name for path in out.iterdir()) == [
        "AV-00000001.pdf",
        "F-00000001.pdf",
        "journal-2025-03.csv",
    ]
    for name in ("AV-00000001.pdf", "F-00000001.pdf"):
        filename, xml = facturx.get_xml_from_pdf((out / name).read_bytes(), check_xsd=True)
        assert filename == "factur-x.xml" and name[:-4].encode() in xml
    rows = list(csv.DictReader((out / "journal-2025-03.csv").open(encoding="utf-8")))
    assert [row["number"] for row in rows] == ["AV-00000001", "F-00000001"]
    credit, invoice = rows
    assert (invoice["issued_on"], invoice["buyer"], invoice["total_gross"]) == (
        "2025-03-10",
        "Léa Roux",
        "613.32",
    )
    assert (invoice["net_20.0"], invoice["vat_20.0"], invoice["net_5.5"], invoice["vat_5.5"]) == (
        "490.00",
        "98.00",
        "24.00",
        "1.32",
    )
    assert credit["credited_invoice"] == "F-00000001" and credit["total_gross"] == "-12.66"
    assert float(credit["total_net"]) + float(credit["total_vat"]) == pytest.approx(-12.66)

    empty = tmp_path / "empty"
    call_command("billing", "invoices", "--month", "2024-12", "--out", str(empty), stdout=io.StringIO())
    assert [path.name for path in empty.iterdir()] == ["journal-2024-12.csv"]
    assert (empty / "journal-2024-12.csv").read_text().count("\n") == 1  # the header only


@pytest.mark.parametrize("month", ["2025-13", "2025-3", "March", "2025/03", ""])
def test_a_bad_month_is_refused_with_the_expected_form_and_nothing_is_written(
    month: str, tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("billing", "invoices", "--month", month, "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_an_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "journal.csv"
    target.write_text("keep me")
    with pytest.raises(CommandError, match="is a file, not a folder"):
        call_command("billing", "invoices", "--month", "2025-03", "--out", str(target))
    assert target.read_text() == "keep me"


def test_the_command_explains_itself() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    shown = subprocess.run(
        [sys.executable, "-m", "pacte.cli", "billing", "invoices", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "--month YYYY-MM" in shown.stdout and "--out DIR" in shown.stdout and "Factur-X" in shown.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "pacte.cli", "billing", "invoices", "--out", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode != 0 and "--month" in missing.stderr
