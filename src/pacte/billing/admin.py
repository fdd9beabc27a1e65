"""Billing in the admin: payments and webhook ids, read-only (states change through the gateways);
staff refund a payment, in full or in part, through its gateway."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from pacte.billing.flows.payment import payment_refund
from pacte.billing.invoice_selectors import invoice_get
from pacte.billing.invoice_views import pdf_response
from pacte.billing.invoices import invoice_staff_read
from pacte.billing.models import Invoice, PaymentAttempt, WebhookEvent
from pacte.core.errors import PacteError


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnly):
    list_display = ("id", "gateway", "state", "reason", "amount", "refunded_amount", "currency", "created_at")
    list_filter = ("state", "gateway")
    exclude = ("subject",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnly):
    list_display = ("gateway", "event_id", "received_at")


# --- billing-pay: staff refunds (full or partial) through the gateway ----------------------------------
# Flagged payments are found with the "state" filter ("Flagged for staff"); a paid one is refunded here.
# The refund's outcome moves the commerce order and issues the credit note (flows/orders.py).


def _refund(request: Any, attempt: PaymentAttempt, amount: int | None) -> bool:
    from django.contrib import messages

    try:
        payment_refund(attempt_id=attempt.id, amount=amount, actor=f"staff:{request.user.pk}")
    except PacteError as refused:
        messages.error(request, f"{attempt.id}: {refused.message}")
        return False
    return True


@admin.action(description=_("Refund in full through the payment service"), permissions=["refund"])
def refund_full(modeladmin: Any, request: Any, queryset: Any) -> None:
    from django.contrib import messages

    done = sum(_refund(request, attempt, None) for attempt in queryset)
    if done:
        messages.success(request, _("%(count)d payment(s) refunded.") % {"count": done})


@admin.action(description=_("Refund part of one payment…"), permissions=["refund"])
def refund_part(modeladmin: Any, request: Any, queryset: Any) -> Any:
    from django.contrib import messages
    from django.template.response import TemplateResponse

    if queryset.count() != 1:
        messages.error(request, _("Choose exactly one payment to refund in part."))
        return None
    attempt = queryset.get()
    if request.POST.get("amount") is not None:
        text = str(request.POST.get("amount", "")).strip()
        if text.isdigit() and _refund(request, attempt, int(text)):
            messages.success(request, _("%(count)d payment(s) refunded.") % {"count": 1})
            return None
        if not text.isdigit():
            messages.error(request, _("Write the amount to refund in cents, digits only."))
    return TemplateResponse(
        request,
        "billing/admin_refund.html",
        {
            **modeladmin.admin_site.each_context(request),
            "attempt": attempt,
            "left": attempt.amount - attempt.refunded_amount,
            "title": _("Refund part of a payment"),
        },
    )


PaymentAttemptAdmin.actions = [refund_full, refund_part]  # type: ignore[misc]


def _has_refund_permission(self: Any, request: Any) -> bool:
    return bool(request.user.has_perm("billing.refund_paymentattempt"))


PaymentAttemptAdmin.has_refund_permission = _has_refund_permission  # type: ignore[attr-defined]
PaymentAttemptAdmin.list_display = (*PaymentAttemptAdmin.list_display, "reference")  # type: ignore[assignment]


# --- invoices (billing staff) ------------------------------------------------------------------------


@admin.register(Invoice)
class InvoiceAdmin(ReadOnly):
    """Issued invoices and credit notes: read-only; the PDF for holders of ``billing.download_invoice``.

    The list shows numbers, dates and amounts only (no personal field is decrypted for it); the PDF,
    which shows the buyer, is each time a ``staff.read`` ledger entry. It stays readable after the
    customer's erasure (legal hold) and only to billing staff.
    """

    list_display = ("number", "kind", "issued_at", "order_reference", "gross_cents", "currency", "pdf_link")
    list_filter = ("kind",)
    search_fields = ("number", "order_reference")
    fields = (
        "number",
        "kind",
        "credited",
        "issued_at",
        "sale_date",
        "order_reference",
        "net_cents",
        "vat_cents",
        "gross_cents",
        "currency",
        "pdf_link",
    )
    readonly_fields = fields

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: Invoice) -> str:
        url = reverse("admin:billing_invoice_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.number + ".pdf")

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<uuid:invoice_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="billing_invoice_pdf",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, invoice_id: Any) -> HttpResponse:
        """Download any invoice as billing staff (permission ``billing.download_invoice``), recorded."""
        if not request.user.has_perm("billing.download_invoice"):
            raise PermissionDenied
        invoice = invoice_get(invoice_id=invoice_id)
        if invoice is None:
            raise Http404
        invoice_staff_read(invoice=invoice, actor=f"staff:{request.user.pk}")
        return pdf_response(invoice)
