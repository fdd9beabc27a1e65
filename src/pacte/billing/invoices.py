"""Writes of invoices: issue an invoice for a paid order, a credit note for a refund (issue 17 points 5–6).

Numbers come from one continuous series per kind (invoices ``F-00000001``…, credit notes
``AV-00000001``…), each a counter row locked in the transaction that writes the document
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` write lock): a failed issue rolls
its number back with it, so no series has a gap. An issued document is never changed or deleted
(``Invoice.save``/``delete``, its queryset, and a database trigger refuse it): a refund is a credit note.
What the document shows is copied at issue; the buyer's fields and the lines are encrypted under the
subject's ``invoices`` key (legal hold, 10 years), which an erasure keeps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret

from pacte.accounts.selectors import organisation_registration_number
from pacte.billing import error_codes
from pacte.billing.invoice_selectors import credited_cents, invoice_of_order
from pacte.billing.models import SERIES, Invoice, InvoiceKind, InvoiceSequence
from pacte.commerce.pricing import line_amounts
from pacte.core.errors import PacteError
from pacte.ledger.services import entry_append
from pacte.policy.selectors import policy_active
from pacte.subjects.registry import value_plain

# Orders in these states were paid, so they have (or get) an invoice (commerce.models.INVOICED).
PAID_STATES = frozenset({"paid", "fulfilled", "refunded"})


# --- identifiers ------------------------------------------------------------------------------------


def registration_split(value: str) -> tuple[str, str]:
    """Split a registration number into (SIREN, VAT number), each validated by python-stdnum.

    A SIRET gives its SIREN; a French VAT number gives its SIREN too; another EU VAT number gives the
    VAT number only. Anything that does not validate gives ("", ""): an invoice never shows a number
    that is not one.
    """
    text = str(value or "").strip()
    if not text:
        return "", ""
    if fr_siren.is_valid(text):
        return fr_siren.compact(text), ""
    if fr_siret.is_valid(text):
        return fr_siret.compact(text)[:9], ""
    if eu_vat.is_valid(text):
        number = eu_vat.compact(text)
        if number.startswith("FR") and fr_siren.is_valid(number[4:]):
            return number[4:], number
        return "", number
    return "", ""


def seller_snapshot() -> dict[str, Any]:
    """Return the seller as the policy's operator names it now (copied onto each document at issue)."""
    operator = policy_active().operator
    return {
        "legal_name": operator.legal_name,
        "name": operator.name,
        "address": list(operator.postal_address),
        "country": operator.country,
        "siren": operator.siren or "",
        "vat_number": operator.vat_number or "",
        "legal_form": operator.legal_form or "",
        "share_capital": operator.share_capital or "",
        "website": operator.website,
    }


# --- numbering --------------------------------------------------------------------------------------


def _number_next(kind: str) -> tuple[str, int, str]:
    """Take the next number of ``kind``'s series under its row lock (the caller's transaction)."""
    series = SERIES[kind]
    counter = InvoiceSequence.objects.select_for_update().filter(series=series).first()
    if counter is None:  # the first document of this series (or a flushed test database)
        try:
            with transaction.atomic():
                InvoiceSequence.objects.create(series=series, last=0)
        except IntegrityError:  # another process created it first: its row is the one to lock
            pass
        counter = InvoiceSequence.objects.select_for_update().get(series=series)
    counter.last += 1
    counter.save(update_fields=["last"])
    return series, counter.last, f"{series}-{counter.last:08d}"


# --- amounts ----------------------------------------------------------------------------------------


def _vat_summary(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group lines by VAT rate: base excl. VAT and VAT per rate (the sum of the lines' VAT), highest first."""
    groups: dict[str, dict[str, Any]] = {}
    for line in lines:
        group = groups.setdefault(line["vat_rate"], {"rate": line["vat_rate"], "net": 0, "vat": 0})
        group["net"] += line["net_cents"]
        group["vat"] += line["vat_cents"]
    return sorted(groups.values(), key=lambda group: Decimal(group["rate"]), reverse=True)


def _totals(lines: list[dict[str, Any]]) -> tuple[int, int, int]:
    net = sum(line["net_cents"] for line in lines)
    vat = sum(line["vat_cents"] for line in lines)
    return net, vat, net + vat


def _order_lines(order: Any) -> list[dict[str, Any]]:
    return [
        {
            "name_fr": line.name_fr,
            "name_en": line.name_en,
            "kind": line.kind,
            "period": line.period,
            "quantity": int(line.quantity),
            "unit_cents": int(line.unit_cents),
            "vat_rate": str(Decimal(line.vat_rate)),
            "net_cents": int(line.net_cents),
            "vat_cents": int(line.vat_cents),
            "gross_cents": int(line.gross_cents),
        }
        for line in order.lines.all()
    ]


def _save(document: Invoice) -> Invoice:
    document.full_clean(exclude=["buyer_address", "lines", "credited", "order", "subject"])
    document.save(force_insert=True)
    return document


# --- issue ------------------------------------------------------------------------------------------


@transaction.atomic
def invoice_issue(*, order: Any, actor: str) -> Invoice:
    """Issue the invoice of a paid order (once): numbered, frozen, its buyer under the ``invoices`` key.

    Idempotent: an order that has its invoice gets that invoice back, nothing written (a replayed
    "paid" notification is harmless). An order not paid (pending, cancelled) is refused
    (``billing.invoice_order_unpaid``) and nothing is written. ``actor`` is pseudonymous (``system``,
    ``staff:<id>``); the billing-pay flow calls this from the order's "paid" outcome.
    """
    existing = invoice_of_order(order_id=order.pk)
    if existing is not None:
        return existing
    if order.status not in PAID_STATES:
        raise PacteError(
            _("Order %(reference)s is not paid: it has no invoice yet.") % {"reference": order.reference},
            error_codes.INVOICE_ORDER_UNPAID,
            status=409,
        )
    lines = _order_lines(order)
    net, vat, gross = _totals(lines)
    organisation = str(order.organisation_name or "")
    siren, vat_number = ("", "")
    if organisation:
        registration = organisation_registration_number(administrator_subject_id=order.subject_id)
        siren, vat_number = registration_split(registration)
    paid_at = order.paid_at or timezone.now()
    try:
        with transaction.atomic():
            series, seq, number = _number_next(InvoiceKind.INVOICE)
            return _save(
                Invoice(
                    subject_id=order.subject_id,
                    order_id=order.pk,
                    kind=InvoiceKind.INVOICE,
                    series=series,
                    seq=seq,
                    number=number,
                    issued_at=timezone.now(),
                    sale_date=timezone.localdate(paid_at),
                    lang=order.lang if order.lang in ("fr", "en") else "fr",
                    currency=order.currency,
                    order_reference=order.reference,
                    net_cents=net,
                    vat_cents=vat,
                    gross_cents=gross,
                    vat_summary=_vat_summary(lines),
                    seller=seller_snapshot(),
                    buyer_name=str(order.buyer_name or ""),
                    buyer_organisation=organisation,
                    buyer_address=order.billing_address or None,
                    buyer_siren=siren,
                    buyer_vat=vat_number,
                    lines=lines,
                )
            )
    except IntegrityError:  # the same order issued at the same moment elsewhere: that one is its invoice
        return Invoice.objects.get(order_id=order.pk, kind=InvoiceKind.INVOICE)


def _amount_lines(invoice: Invoice, amount: int) -> list[dict[str, Any]]:
    """Spread a refunded amount (incl. VAT) over the invoice's VAT rates, in proportion; one line per rate."""
    groups = [group for group in invoice.vat_summary if group["net"] + group["vat"] > 0]
    lines: list[dict[str, Any]] = []
    left = amount
    for index, group in enumerate(groups):
        gross = group["net"] + group["vat"]
        share = left if index == len(groups) - 1 else amount * gross // invoice.gross_cents
        left -= share
        rate = Decimal(group["rate"])
        net = int((Decimal(share) * 100 / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        lines.append(
            {
                "name_fr": f"Remboursement sur la facture {invoice.number} (TVA {group['rate']} %)",
                "name_en": f"Refund on invoice {invoice.number} (VAT {group['rate']} %)",
                "kind": "refund",
                "period": "",
                "quantity": 1,
                "unit_cents": net,
                "vat_rate": group["rate"],
                "net_cents": net,
                "vat_cents": share - net,
                "gross_cents": share,
            }
        )
    return [line for line in lines if line["gross_cents"] > 0]


def _quantity_lines(invoice: Invoice, quantities: Mapping[int, int]) -> list[dict[str, Any]]:
    """Credit lines of the invoice by position (0-based) and quantity, priced as they were sold."""
    sold = list(invoice.lines or [])
    lines: list[dict[str, Any]] = []
    for position, quantity in sorted(quantities.items()):
        if not isinstance(position, int) or not 0 <= position < len(sold):
            raise PacteError(
                _("Invoice %(number)s has no line %(line)s.") % {"number": invoice.number, "line": position},
                error_codes.CREDIT_BAD,
            )
        line = sold[position]
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 1 <= quantity <= line["quantity"]
        ):
            raise PacteError(
                _("Credit between 1 and %(max)s of line %(line)s.")
                % {"max": line["quantity"], "line": position},
                error_codes.CREDIT_BAD,
            )
        amounts = line_amounts(
            unit_cents=line["unit_cents"], quantity=quantity, vat_rate=Decimal(line["vat_rate"])
        )
        lines.append(
            {
                **line,
                "quantity": quantity,
                "net_cents": amounts.net_cents,
                "vat_cents": amounts.vat_cents,
                "gross_cents": amounts.gross_cents,
            }
        )
    return lines


@transaction.atomic
def credit_note_issue(
    *,
    invoice: Invoice,
    actor: str,
    amount: int | None = None,
    lines: Mapping[int, int] | None = None,
    reason: str = "refund",
) -> Invoice:
    """Issue a credit note against ``invoice``: for ``amount`` cents incl. VAT, or for ``lines``.

    Give exactly one: ``amount`` (a partial or full refund, spread over the invoice's VAT rates in
    proportion; the whole amount of an invoice not yet credited credits its lines exactly) or ``lines``
    (line position → quantity). All credit notes of an invoice together never exceed it
    (``billing.credit_too_large``); bad input is ``billing.credit_bad``; nothing is written then.
    Credit notes have their own continuous series (``AV-…``).
    """
    if (amount is None) == (lines is None):
        raise PacteError(_("Credit either an amount or invoice lines, not both."), error_codes.CREDIT_BAD)
    original = Invoice.objects.select_for_update().filter(pk=invoice.pk).first()
    if original is None or original.kind != InvoiceKind.INVOICE:
        raise PacteError(
            _("A credit note corrects an invoice: there is no such invoice."), error_codes.CREDIT_BAD
        )
    credited = credited_cents(invoice=original)
    left = original.gross_cents - credited
    if amount is not None:
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise PacteError(
                _("The amount to credit must be a positive whole number of cents."), error_codes.CREDIT_BAD
            )
        if amount > left:
            raise PacteError(
                _("Invoice %(number)s has %(left)s cents left to credit, not %(amount)s.")
                % {"number": original.number, "left": left, "amount": amount},
                error_codes.CREDIT_TOO_LARGE,
                status=409,
            )
        if credited == 0 and amount == original.gross_cents:
            credit_lines = [dict(line) for line in original.lines]
        else:
            credit_lines = _amount_lines(original, amount)
    else:
        credit_lines = _quantity_lines(original, lines or {})
        if not credit_lines:
            raise PacteError(_("Choose at least one line to credit."), error_codes.CREDIT_BAD)
    net, vat, gross = _totals(credit_lines)
    if gross > left:
        raise PacteError(
            _("Invoice %(number)s has %(left)s cents left to credit, not %(amount)s.")
            % {"number": original.number, "left": left, "amount": gross},
            error_codes.CREDIT_TOO_LARGE,
            status=409,
        )
    series, seq, number = _number_next(InvoiceKind.CREDIT_NOTE)
    return _save(
        Invoice(
            subject_id=original.subject_id,
            order_id=original.order_id,
            kind=InvoiceKind.CREDIT_NOTE,
            series=series,
            seq=seq,
            number=number,
            credited=original,
            reason=str(reason)[:40],
            issued_at=timezone.now(),
            sale_date=original.sale_date,
            lang=original.lang,
            currency=original.currency,
            order_reference=original.order_reference,
            net_cents=net,
            vat_cents=vat,
            gross_cents=gross,
            vat_summary=_vat_summary(credit_lines),
            seller=seller_snapshot(),
            buyer_name=original.buyer_name,
            buyer_organisation=original.buyer_organisation,
            buyer_address=original.buyer_address or None,
            buyer_siren=original.buyer_siren,
            buyer_vat=original.buyer_vat,
            lines=credit_lines,
        )
    )


def invoice_staff_read(*, invoice: Invoice, actor: str) -> None:
    """Record that staff opened a document with personal data (a ``staff.read`` ledger entry, no values)."""
    entry_append(
        type="staff.read",
        subject_id=invoice.subject_id,
        actor=actor,
        payload={"model": "billing.Invoice", "fields": "buyer,lines", "reason": "invoice_download"},
    )


# --- export and erasure (registered in apps.py) --------------------------------------------------------

INVOICE_EXPORT_FIELDS = (
    "number",
    "kind",
    "issued_at",
    "sale_date",
    "order_reference",
    "net_cents",
    "vat_cents",
    "gross_cents",
    "currency",
)


def invoices_export(subject: Any) -> Iterator[dict[str, Any]]:
    """Export the person's invoices and credit notes (numbers, dates, amounts; the PDF is on the portal)."""
    rows = Invoice.objects.filter(subject=subject).values(*INVOICE_EXPORT_FIELDS).order_by("issued_at")
    for row in rows.iterator(chunk_size=500):
        yield {name: value_plain(row[name]) for name in INVOICE_EXPORT_FIELDS}


def invoices_keep(subject: Any) -> int:
    """Keep invoices on erasure (legal hold): their personal fields stay under the ``invoices`` key only.

    The erasure destroys every other key of the person; retention destroys this one at the legal term
    (``vault.services.keys_destroy(subject=…, retention_class="invoices")``), after which the buyer and
    the lines read as erased and only numbers, dates and amounts remain.
    """
    return 0
