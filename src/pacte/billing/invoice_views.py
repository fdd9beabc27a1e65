"""Invoice downloads: a customer's own, from Purchase history (someone else's is not found)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from pacte.billing.invoice_render import invoice_facturx, invoice_filename
from pacte.billing.invoice_selectors import access_invoice
from pacte.billing.models import Invoice


def pdf_response(invoice: Invoice) -> HttpResponse:
    """Answer with the invoice's Factur-X PDF as an attachment named by its number, never cached."""
    response = HttpResponse(invoice_facturx(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice_filename(invoice)}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_safe
def invoice_pdf(request: HttpRequest, invoice_id: Any) -> HttpResponse:
    """Download one of the customer's invoices or credit notes (404 for anyone else's)."""
    subject_id = getattr(request.user, "subject_id", None)
    return pdf_response(access_invoice(subject_id=subject_id, invoice_id=invoice_id))
