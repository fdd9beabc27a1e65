"""Reads of invoices: a customer's own, an order's, a month's (for the accountant's export)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.billing import error_codes
from pacte.billing.models import Invoice, InvoiceKind
from pacte.core.errors import PacteError


def invoice_of_order(*, order_id: Any) -> Invoice | None:
    """Return the invoice issued for an order, or None."""
    return Invoice.objects.filter(order_id=order_id, kind=InvoiceKind.INVOICE).first()


def credited_cents(*, invoice: Invoice) -> int:
    """Return the total (incl. VAT) of the credit notes issued against ``invoice``."""
    return int(sum(Invoice.objects.filter(credited=invoice).values_list("gross_cents", flat=True)))


def invoice_list_for_order(*, subject_id: Any, order_id: Any) -> QuerySet[Invoice]:
    """Return the invoice and credit notes of one of the customer's orders, in issue order."""
    return Invoice.objects.filter(subject_id=subject_id, order_id=order_id).order_by("issued_at", "series")


def access_invoice(*, subject_id: Any, invoice_id: Any) -> Invoice:
    """Return the customer's invoice ``invoice_id``, or refuse (someone else's looks unknown: 404)."""
    found = Invoice.objects.filter(subject_id=subject_id, pk=invoice_id).first() if subject_id else None
    if found is None:
        raise PacteError(
            _("There is no such invoice in your account."), error_codes.INVOICE_NOT_FOUND, status=404
        )
    return found


def invoice_get(*, invoice_id: Any) -> Invoice | None:
    """Return any invoice by id (billing staff), or None."""
    return Invoice.objects.filter(pk=invoice_id).select_related("credited").first()


def month_bounds(month: str) -> tuple[datetime.datetime, datetime.datetime]:
    """Return [start, end) of ``YYYY-MM`` in the current time zone, or refuse a malformed month."""
    try:
        if len(month) != 7 or month[4] != "-":
            raise ValueError(month)
        year, number = int(month[:4]), int(month[5:])
        if not 1 <= number <= 12 or year < 2000:
            raise ValueError(month)
    except ValueError:
        raise PacteError(
            _("Give the month as YYYY-MM, for example 2025-03 (not %(month)s).") % {"month": repr(month)},
            error_codes.BAD_MONTH,
        ) from None
    tz = timezone.get_current_timezone()
    start = datetime.datetime(year, number, 1, tzinfo=tz)
    end = datetime.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return start, end


def invoice_list_for_month(*, month: str) -> QuerySet[Invoice]:
    """Return the invoices and credit notes issued in ``YYYY-MM`` (local time), by series and number."""
    start, end = month_bounds(month)
    return (
        Invoice.objects.filter(issued_at__gte=start, issued_at__lt=end)
        .select_related("credited")
        .order_by("series", "seq")
    )
