"""Invoices: issued once per paid order, numbered without gaps, frozen, corrected by credit notes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from pacte.billing import error_codes, invoices
from pacte.billing.models import Invoice, InvoiceImmutable, InvoiceSequence
from pacte.commerce import services as commerce
from pacte.commerce.tests.helpers import DBS, customer_make, product_make
from pacte.commerce.tests.test_orders import order_make
from pacte.core.errors import PacteError
from pacte.rights.flows.erasure import erasure_of_subject
from pacte.subjects.registry import registrations

pytestmark = pytest.mark.django_db(databases=DBS)

ADDRESS = {"lines": ["8 rue Gamma"], "postcode": "69003", "city": "Lyon", "country": "FR"}


def paid_order(user: Any = None, lines: dict[int, int] | None = None) -> Any:
    """A paid order of two lines at two VAT rates: audit 490.00 € × 1 at 20 %, guide 12.00 € × 2 at 5.5 %."""
    if user is None:
        user = customer_make(email=f"c{Invoice.objects.count()}-{InvoiceSequence.objects.count()}@example.fr")
    if lines is None:
        audit = product_make("audit", 49000, name_fr="Audit de site", name_en="Site audit")
        guide = product_make("guide", 1200, "5.5", name_fr="Guide numérique", name_en="Digital guide")
        lines = {audit.pk: 1, guide.pk: 2}
    order = order_make(user, lines, lang="fr")
    return commerce.order_mark_paid(order=order, actor="system")


@pytest.fixture
def shop() -> dict[str, Any]:
    audit = product_make("audit", 49000, name_fr="Audit de site", name_en="Site audit")
    guide = product_make("guide", 1200, "5.5", name_fr="Guide numérique", name_en="Digital guide")
    user = customer_make(postal_address=ADDRESS)
    return {"user": user, "lines": {audit.pk: 1, guide.pk: 2}}


def test_a_paid_order_gets_one_invoice_with_its_lines_vat_per_rate_and_totals(shop) -> None:
    order = paid_order(shop["user"], shop["lines"])
    invoice = invoices.invoice_issue(order=order, actor="system")
    assert invoice.number == "F-00000001" and invoice.seq == 1 and invoice.kind == "invoice"
    assert (invoice.net_cents, invoice.vat_cents, invoice.gross_cents) == (51400, 9932, 61332)
    assert invoice.gross_cents == order.gross_cents
    assert invoice.vat_summary == [
        {"rate": "20.0", "net": 49000, "vat": 9800},
        {"rate": "5.5", "net": 2400, "vat": 132},
    ]
    fresh = Invoice.objects.get(pk=invoice.pk)
    assert fresh.buyer_name == "Léa Roux" and fresh.buyer_address["city"] == "Lyon"
    assert [(line["name_fr"], line["quantity"]) for line in fresh.lines] == [
        ("Audit de site", 1),
        ("Guide numérique", 2),
    ]
    assert fresh.seller["legal_name"] and fresh.order_reference == order.reference
    # Issuing again (a replayed "paid" notification) returns the same invoice and takes no number.
    assert invoices.invoice_issue(order=order, actor="system").pk == invoice.pk
    assert Invoice.objects.count() == 1 and InvoiceSequence.objects.get(series="F").last == 1


def test_personal_fields_are_ciphertext_under_the_invoices_key(shop) -> None:
    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    with connection.cursor() as cursor:
        cursor.execute("SELECT buyer_name, lines FROM billing_invoice WHERE id = %s", [invoice.pk.hex])
        row = cursor.fetchone()
    if row is None:  # PostgreSQL stores the uuid natively
        with connection.cursor() as cursor:
            cursor.execute("SELECT buyer_name, lines FROM billing_invoice WHERE id = %s", [invoice.pk])
            row = cursor.fetchone()
    assert row[0].startswith("v1:") and "Léa" not in row[0] and "Audit" not in row[1]
    assert Invoice._meta.get_field("buyer_name").retention_class == "invoices"  # type: ignore[attr-defined]


def test_an_unpaid_order_is_refused_and_takes_no_number(shop) -> None:
    order = order_make(shop["user"], shop["lines"], lang="fr")
    with pytest.raises(PacteError) as refused:
        invoices.invoice_issue(order=order, actor="system")
    assert refused.value.code == error_codes.INVOICE_ORDER_UNPAID
    assert not Invoice.objects.exists()
    assert not InvoiceSequence.objects.filter(last__gt=0).exists()


def test_numbers_follow_each_other_and_a_failed_issue_leaves_no_gap(shop, monkeypatch) -> None:
    first = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    second_order = paid_order(shop["user"], shop["lines"])

    def broken(document: Invoice) -> Invoice:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(invoices, "_save", broken)
    with pytest.raises(RuntimeError):
        invoices.invoice_issue(order=second_order, actor="system")
    monkeypatch.undo()
    second = invoices.invoice_issue(order=second_order, actor="system")
    third = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    assert [first.number, second.number, third.number] == ["F-00000001", "F-00000002", "F-00000003"]


def test_an_issued_invoice_cannot_be_changed_or_deleted_by_the_model_the_queryset_or_sql(shop) -> None:
    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    invoice.gross_cents = 1
    with pytest.raises(InvoiceImmutable):
        invoice.save()
    with pytest.raises(InvoiceImmutable):
        invoice.delete()
    with pytest.raises(InvoiceImmutable):
        Invoice.objects.filter(pk=invoice.pk).update(gross_cents=1)
    with pytest.raises(InvoiceImmutable):
        Invoice.objects.filter(pk=invoice.pk).delete()
    # Below the ORM, the database's trigger refuses it too.
    with (
        pytest.raises((DatabaseError, IntegrityError), match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE billing_invoice SET gross_cents = 1")
    assert Invoice.objects.get(pk=invoice.pk).gross_cents == 61332


@pytest.mark.postgres
def test_on_postgresql_the_trigger_refuses_a_raw_delete(shop) -> None:
    invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    with (
        pytest.raises(DatabaseError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM billing_invoice")
    assert Invoice.objects.count() == 1


def test_a_full_refund_credits_every_line_in_its_own_series(shop) -> None:
    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    note = invoices.credit_note_issue(invoice=invoice, amount=61332, actor="staff:1")
    assert note.number == "AV-00000001" and note.kind == "credit_note" and note.credited_id == invoice.pk
    assert (note.net_cents, note.vat_cents, note.gross_cents) == (51400, 9932, 61332)
    assert note.vat_summary == invoice.vat_summary
    assert note.buyer_name == "Léa Roux"
    with pytest.raises(PacteError) as refused:
        invoices.credit_note_issue(invoice=invoice, amount=1, actor="staff:1")
    assert refused.value.code == error_codes.CREDIT_TOO_LARGE
    assert Invoice.objects.filter(kind="credit_note").count() == 1
    # The invoice series goes on where it was: credit notes do not take its numbers.
    other = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    assert other.number == "F-00000002"


def test_a_partial_refund_is_spread_over_the_vat_rates_and_adds_up(shop) -> None:
    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    note = invoices.credit_note_issue(invoice=invoice, amount=10000, actor="staff:1")
    assert note.gross_cents == 10000 and note.net_cents + note.vat_cents == 10000
    assert [group["rate"] for group in note.vat_summary] == ["20.0", "5.5"]
    # 58800 of 61332 is at 20 %: 9587 cents of the refund, 7989 excl. VAT + 1598 VAT; the rest at 5.5 %.
    assert note.vat_summary[0] == {"rate": "20.0", "net": 7989, "vat": 1598}
    assert note.vat_summary[1] == {"rate": "5.5", "net": 391, "vat": 22}  # 413 / 1.055 = 391.47
    rest = invoices.credit_note_issue(invoice=invoice, amount=51332, actor="staff:1")
    assert rest.number == "AV-00000002" and note.gross_cents + rest.gross_cents == invoice.gross_cents


def test_a_credit_note_by_lines_prices_them_as_sold_and_bad_input_writes_nothing(shop) -> None:
    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    note = invoices.credit_note_issue(invoice=invoice, lines={1: 1}, actor="staff:1")
    assert (note.net_cents, note.vat_cents, note.gross_cents) == (1200, 66, 1266)
    assert note.lines[0]["name_fr"] == "Guide numérique" and note.lines[0]["quantity"] == 1
    for bad in ({1: 3}, {5: 1}, {0: 0}, {}):
        with pytest.raises(PacteError) as refused:
            invoices.credit_note_issue(invoice=invoice, lines=bad, actor="staff:1")
        assert refused.value.code == error_codes.CREDIT_BAD
    for amount in (0, -5, 1.5):
        with pytest.raises(PacteError) as refused:
            invoices.credit_note_issue(invoice=invoice, amount=amount, actor="staff:1")  # type: ignore[arg-type]
        assert refused.value.code == error_codes.CREDIT_BAD
    with pytest.raises(PacteError):
        invoices.credit_note_issue(invoice=invoice, amount=100, lines={0: 1}, actor="staff:1")
    with pytest.raises(PacteError):
        invoices.credit_note_issue(
            invoice=note, amount=100, actor="staff:1"
        )  # a credit note of a credit note
    assert Invoice.objects.filter(kind="credit_note").count() == 1
    assert InvoiceSequence.objects.get(series="AV").last == 1


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("732 829 320", ("732829320", "")),  # a SIREN (spaces allowed)
        ("73282932000074", ("732829320", "")),  # a SIRET gives its SIREN
        ("FR 40 303 265 045", ("303265045", "FR40303265045")),  # a French VAT number gives both
        ("DE136695976", ("", "DE136695976")),  # another EU VAT number
        ("732829321", ("", "")),  # a SIREN with a wrong check digit is not shown
        ("hello", ("", "")),
        ("", ("", "")),
    ],
)
def test_registration_numbers_are_validated_with_stdnum(given: str, expected: tuple[str, str]) -> None:
    assert invoices.registration_split(given) == expected


def test_the_persons_export_lists_their_invoices_and_erasure_keeps_them(shop) -> None:

    invoice = invoices.invoice_issue(order=paid_order(shop["user"], shop["lines"]), actor="system")
    invoices.credit_note_issue(invoice=invoice, amount=100, actor="staff:1")
    registration = next(r for r in registrations() if r.model is Invoice)
    assert registration.kind == "billing_invoices"
    rows = list(registration.exporter(shop["user"].subject))
    assert [(row["number"], row["kind"], row["gross_cents"]) for row in rows] == [
        ("F-00000001", "invoice", 61332),
        ("AV-00000001", "credit_note", 100),
    ]
    erasure_of_subject(subject=shop["user"].subject)
    assert Invoice.objects.filter(subject=shop["user"].subject).count() == 2
