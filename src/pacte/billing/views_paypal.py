"""Paying an order at PayPal: the pay page's "Pay with PayPal" button, and the pages PayPal sends the buyer back to.

``/shop/orders/<id>/pay/approve/`` (POST) opens the payment and sends the browser to PayPal's approval page.
``/billing/paypal/return/?token=ORDER&PayerID=…`` (``PACTE_PAYPAL_RETURN_URL``) captures what the buyer
approved and sends them to the order's pay page, which shows the payment until its webhook makes the order
paid. ``/billing/paypal/cancel/?token=ORDER`` (``PACTE_PAYPAL_CANCEL_URL``) brings the buyer back to the
pay page, nothing charged. These pages are GETs because PayPal redirects the browser there; the capture
is PayPal's to make idempotent (``PayPal-Request-Id``) and Pacte's to do once (only while the attempt waits).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from pacte.billing import selectors
from pacte.billing.flows.approval import APPROVAL_GATEWAYS, order_approval_return, order_approval_start
from pacte.commerce import selectors as commerce_selectors
from pacte.core.errors import PacteError


@login_required
@require_POST
def approval_start(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """Open the order's payment at PayPal and send the buyer to PayPal's approval page."""
    subject_id = request.user.subject_id  # type: ignore[union-attr]
    order = commerce_selectors.access_order(subject_id=subject_id, order_id=order_id)
    try:
        target = order_approval_start(order=order, actor=f"subject:{subject_id}")
    except PacteError as refused:
        messages.error(request, str(refused.message))
        return redirect("billing:pay", order_id=order.pk)
    return redirect(target)


@login_required
@never_cache
@require_GET
def paypal_return(request: HttpRequest) -> HttpResponse:
    """Capture the payment the buyer approved at PayPal, then show the order's pay page."""
    subject_id = request.user.subject_id  # type: ignore[union-attr]
    try:
        order, attempt = order_approval_return(
            subject_id=subject_id,
            token=request.GET.get("token", ""),
            payer_id=request.GET.get("PayerID", ""),
            actor=f"subject:{subject_id}",
        )
    except PacteError as refused:
        if refused.code == "billing.gateway_error" or refused.code == "billing.gateway_unavailable":
            attempt = selectors.access_payment_at_gateway(
                subject_id=subject_id, gateways=APPROVAL_GATEWAYS, gateway_id=request.GET.get("token", "")
            )
            messages.error(request, str(refused.message))
            return redirect("billing:pay", order_id=attempt.reference)
        return render(request, "billing/paypal_return.html", {"error": refused}, status=refused.status)
    if attempt.state in ("processing", "paid"):
        messages.success(request, _("Thank you: PayPal confirmed your payment."))
    return redirect("billing:pay", order_id=order.pk)


@login_required
@never_cache
@require_GET
def paypal_cancel(request: HttpRequest) -> HttpResponse:
    """Bring back a buyer who cancelled at PayPal to the order's pay page (nothing was charged)."""
    subject_id = request.user.subject_id  # type: ignore[union-attr]
    try:
        attempt = selectors.access_payment_at_gateway(
            subject_id=subject_id, gateways=APPROVAL_GATEWAYS, gateway_id=request.GET.get("token", "")
        )
    except PacteError:
        return redirect("commerce:orders")
    messages.info(request, _("You cancelled the payment at PayPal. Nothing was charged."))
    return redirect("billing:pay", order_id=attempt.reference)
