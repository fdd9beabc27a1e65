"""The pay page of an order: a card form (no JavaScript), then the payment's outcome on the same page.

With a gateway's hosted checkout on (Stripe, ``PACTE_STRIPE_CHECKOUT=hosted``) the page shows one button
instead of the card form: its POST redirects the buyer to the gateway's page, which sends them back here.

The card number, expiry and security code are posted once, handed to the gateway and forgotten: never
stored, never in a log or an error report (``sensitive_post_parameters``), never in a URL. The page is
never cached. After a POST the browser is sent back to the page (GET), which shows where the payment is.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from pacte.billing import error_codes, selectors
from pacte.billing.flows.approval import approval_origins, order_approval_gateway
from pacte.billing.flows.orders import TypedCard, customer_country, order_checkout, order_pay
from pacte.billing.gateways import gateway_choose, gateway_get
from pacte.billing.views import GATEWAY_LABELS
from pacte.commerce import selectors as commerce_selectors
from pacte.core.errors import PacteError

CARD_FIELDS = ("number", "expiry", "cvc")


def _card(post: Any) -> TypedCard:
    """Read the typed card, or say which field is wrong (nothing is kept either way)."""
    number = re.sub(r"[\s-]", "", str(post.get("number", "")))
    if not re.fullmatch(r"[0-9]{12,19}", number):
        raise PacteError(
            _("Type the card number: 12 to 19 digits, spaces allowed."), error_codes.BAD_CARD, field="number"
        )
    match = re.fullmatch(r"\s*([0-9]{1,2})\s*/\s*([0-9]{2}|[0-9]{4})\s*", str(post.get("expiry", "")))
    if not match or not 1 <= int(match.group(1)) <= 12:
        raise PacteError(
            _("Type the expiry date as on the card: month / year, for example 09/28."),
            error_codes.BAD_CARD,
            field="expiry",
        )
    year = int(match.group(2))
    cvc = str(post.get("cvc", "")).strip()
    if not re.fullmatch(r"[0-9]{3,4}", cvc):
        raise PacteError(_("The security code must be 3 or 4 digits."), error_codes.BAD_CARD, field="cvc")
    return TypedCard(
        number=number, exp_month=int(match.group(1)), exp_year=year + 2000 if year < 100 else year, cvc=cvc
    )


def _saved_method(post: Any) -> uuid.UUID | None:
    value = str(post.get("saved", "")).strip()
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise PacteError(_("There is no such saved card."), error_codes.PAYMENT_NOT_FOUND) from None


@login_required
@never_cache
@sensitive_post_parameters(*CARD_FIELDS)
@require_http_methods(["GET", "HEAD", "POST"])
def pay(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """Show the order's pay page (GET) or pay it with the posted card (POST, then back to the page)."""
    subject_id = request.user.subject_id  # type: ignore[union-attr]
    order = commerce_selectors.access_order(subject_id=subject_id, order_id=order_id)
    error: PacteError | None = None
    if request.method == "POST":
        try:
            if request.POST.get("checkout") == "hosted":
                # Stripe-hosted Checkout: the buyer types the card on the gateway's page, not here.
                return redirect(order_checkout(order=order, actor=f"subject:{subject_id}"))
            saved = _saved_method(request.POST)
            attempt = order_pay(
                order=order,
                actor=f"subject:{subject_id}",
                card=None if saved else _card(request.POST),
                saved_method_id=saved,
                save=request.POST.get("save") == "1",
            )
        except PacteError as refused:
            error = refused
        else:
            if attempt.state == "paid":
                messages.success(request, _("Thank you: your payment is received."))
            return redirect("billing:pay", order_id=order.pk)
    payment = selectors.payment_latest(reference=order.pk)
    try:
        choice = gateway_choose(customer_country(subject_id=subject_id))
        card_form = gateway_get(choice.gateway).card_form()
        hosted = gateway_get(choice.gateway).checkout_hosted()
        label = GATEWAY_LABELS.get(choice.gateway, choice.gateway)
        saved_methods = [
            method
            for method in selectors.payment_method_list(subject_id=subject_id)
            if method.gateway == choice.gateway
        ]
    except PacteError as refused:  # no gateway for this country: said on the page
        error = error or refused
        card_form, hosted, label, saved_methods = False, False, "", []
    approval = not card_form and not hosted and order_approval_gateway(order=order) is not None
    if (
        approval or hosted
    ):  # the button's POST is answered by a redirect to the gateway: let the browser follow it
        extra = getattr(request, "pacte_csp_extra", {})
        extra.setdefault("form-action", set()).update(approval_origins(choice.gateway))
        request.pacte_csp_extra = extra  # type: ignore[attr-defined]
    context = {
        "order": order,
        "payment": payment,
        "payable": order.status == "pending_payment"
        and (payment is None or payment.state in ("created", "pending", "failed")),
        "card_form": card_form,
        "hosted": hosted,
        "checkout_returned": request.GET.get("checkout") == "done",
        # PayPal: no card form here, a button to PayPal's own approval page (views_paypal.py).
        "approval": approval,
        "gateway_label": label,
        "saved_methods": saved_methods,
        "error": error,
        "error_field": error.params.get("field", "") if error else "",
    }
    return render(request, "billing/pay.html", context, status=error.status if error else 200)
