"""Orders paid on the gateway's own page (PayPal): send the buyer there, then capture when they come back.

PayPal Checkout has no card form on the merchant's page: ``order_approval_start`` creates the PayPal order
(through ``payment_start``: disclosed to the ``paypal`` recipient as the policy allows) and returns
PayPal's approval address, where the pay page sends the buyer. After approving, PayPal sends the buyer's
browser to ``PACTE_PAYPAL_RETURN_URL?token=ORDER&PayerID=…`` (the return page, ``views_paypal.py``), and
``order_approval_return`` captures the order through ``payment_pay``; the signed webhook
``PAYMENT.CAPTURE.COMPLETED`` then makes the payment and the order paid, as for every gateway.

Pacte captures only when the buyer comes back, so a PayPal order the buyer left without returning is
never charged: a new click on "Pay with PayPal" fails that attempt (``approval_abandoned``) and opens a
new one. A return for an attempt that is no longer waiting (a reload of the return page, a second tab)
captures nothing more: it shows where the payment is.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.utils.translation import gettext as _

from pacte.billing import app_settings, error_codes, selectors, services
from pacte.billing.flows.orders import PENDING, customer_country, order_payable
from pacte.billing.flows.payment import payment_pay, payment_start
from pacte.billing.gateways import gateway_choose, gateway_get
from pacte.billing.models import PaymentAttempt, PaymentState
from pacte.commerce import selectors as commerce_selectors
from pacte.core.errors import PacteError

# Gateways whose buyers approve on the gateway's own page and come back to a return page of Pacte.
APPROVAL_GATEWAYS = frozenset({"paypal"})
# PayPal's order ids and payer ids are upper-case letters and digits (17 and 13 long today).
_PAYPAL_ID = re.compile(r"[A-Z0-9]{6,36}")


def approval_origins(gateway: str) -> set[str]:
    """Return the origins the buyer's browser is sent to for approving at ``gateway`` (CSP ``form-action``).

    The pay page's form posts to Pacte, which answers with a redirect to PayPal; browsers check that
    redirect against the page's ``form-action``, so the pay page opens it to these origins only.
    """
    from urllib.parse import urlsplit

    if gateway == "stripe":  # Stripe-hosted Checkout: the session's page
        parts = urlsplit(app_settings.stripe_api_base())
        if parts.hostname and parts.hostname != "api.stripe.com":  # the tests' local Stripe serves it
            return {f"{parts.scheme}://{parts.netloc}"}
        return {"https://checkout.stripe.com"}
    if gateway != "paypal":
        return set()

    base = app_settings.paypal_api_base()
    if base:  # the tests' local PayPal serves its approval page beside its API
        parts = urlsplit(base)
        return {f"{parts.scheme}://{parts.netloc}"}
    if app_settings.paypal_environment() == "production":
        return {"https://www.paypal.com"}
    return {"https://www.sandbox.paypal.com"}


def order_approval_gateway(*, order: Any) -> str | None:
    """Return the gateway that takes ``order``'s payment on its own page, or None (a card form, or none)."""
    try:
        choice = gateway_choose(customer_country(subject_id=order.subject_id))
    except PacteError:
        return None
    if choice.gateway not in APPROVAL_GATEWAYS or gateway_get(choice.gateway).card_form():
        return None
    return choice.gateway


def order_approval_start(*, order: Any, actor: str) -> str:
    """Open ``order``'s payment at its approval gateway and return the address where the buyer approves it.

    Raises a coded ``PacteError`` when the order waits for no payment, when its payment is already on its
    way, or when the gateway does not answer (nothing is charged; the order stays pending).
    """
    if order.status != PENDING:
        raise PacteError(_("This order is not waiting for a payment."), error_codes.NOT_PAYABLE, status=409)
    gateway = order_approval_gateway(order=order)
    if gateway is None:
        raise PacteError(_("Type your card, or choose a saved one."), error_codes.BAD_CARD)
    live = selectors.payment_live(reference=order.pk)
    if live is not None and live.state == PaymentState.PENDING and live.gateway == gateway:
        # The buyer left the gateway's page (or clicked again): that approval is never captured.
        services.payment_state_set(
            attempt_id=live.id, state=PaymentState.FAILED, reason="approval_abandoned", actor=actor
        )
    elif live is not None and live.state != PaymentState.CREATED:
        raise PacteError(
            _("Your payment of this order is already on its way."), error_codes.NOT_PAYABLE, status=409
        )
    started = payment_start(
        payable=order_payable(order=order),
        country=customer_country(subject_id=order.subject_id),
        actor=actor,
        gateway=gateway,
    )
    target = started.client_secret
    if started.attempt.state != PaymentState.PENDING or not target.startswith(("https://", "http://")):
        raise PacteError(
            _(
                "The payment service %(gateway)s gave no page to approve the payment. Nothing was charged; please try again."
            )
            % {"gateway": gateway},
            error_codes.GATEWAY_ERROR,
        )
    return target


def order_approval_return(
    *, subject_id: uuid.UUID, token: str, payer_id: str, actor: str
) -> tuple[Any, PaymentAttempt]:
    """Capture the payment the buyer approved at PayPal (``token`` = PayPal's order id); return (order, attempt).

    Only the buyer's own attempt is found (anyone else's token is "no such payment"). An attempt that
    no longer waits for the buyer is returned as it is. A declined capture raises the gateway's coded
    refusal (the payment is failed; the buyer may pay again).
    """
    if not _PAYPAL_ID.fullmatch(token or "") or not _PAYPAL_ID.fullmatch(payer_id or ""):
        raise PacteError(
            _("This return address from PayPal is incomplete. Go back to your order to pay it."),
            error_codes.PAYMENT_NOT_FOUND,
            status=400,
        )
    attempt = selectors.access_payment_at_gateway(
        subject_id=subject_id, gateways=APPROVAL_GATEWAYS, gateway_id=token
    )
    order = commerce_selectors.order_get(order_id=attempt.reference)
    if order is None:
        raise PacteError(_("There is no such payment."), error_codes.PAYMENT_NOT_FOUND, status=404)
    if attempt.state == PaymentState.PENDING and attempt.live:
        attempt = payment_pay(attempt_id=attempt.id, payment_method=payer_id, actor=actor)
    return order, attempt
