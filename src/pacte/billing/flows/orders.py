"""Paying the shop's orders: the order as a payable, and what each payment outcome does to the order.

Billing sits above commerce, so it reads orders through commerce's selectors and moves them through
commerce's services; commerce never imports billing. ``order_payment_outcome`` is registered in
``BillingConfig.ready()`` as the payment outcome callback (``hooks.py``) and runs inside the
transaction that records the payment's new state, so the order and the payment change together:

* ``paid``: the order is marked paid (``order_mark_paid``) and the operator's webhooks get ``order.paid``
  (minimised by the sharing gate). An order that can no longer be paid (cancelled meanwhile) is not
  touched: the payment is flagged for staff, who refund it.
* ``failed``: the order stays pending payment; a failure reported later by the gateway (not on the pay
  page, where the customer reads it at once) is mailed to the customer with the page to pay again.
* ``refunded``: the order is marked refunded. ``partially_refunded`` leaves it paid.
* ``flagged``: the order stays as it is; staff find the payment in the admin (filter "Flagged for staff").
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from pacte.accounts.selectors import account_contact, account_country
from pacte.billing import error_codes, invoice_selectors, invoices, selectors, services
from pacte.billing.flows.payment import HostedCheckout, _refused, _unavailable, payment_pay, payment_start
from pacte.billing.gateways import gateway_choose, gateway_get
from pacte.billing.gateways.base import GatewayRefused, GatewayUnavailable, Payable
from pacte.billing.models import PaymentAttempt
from pacte.commerce import selectors as commerce_selectors
from pacte.commerce import services as commerce_services
from pacte.core.errors import PacteError
from pacte.messaging.services import message_queue
from pacte.policy.selectors import policy_active
from pacte.sharing.services import webhook_emit

logger = logging.getLogger("pacte.billing")

# Set by a flow that tells the customer of a failure itself (renewals): the callback then does not mail.
FAILURE_MAILED_BY_CALLER: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "billing_failure_mailed_by_caller", default=False
)

# Commerce's order states, as the text its selectors return (billing does not import commerce's models).
PENDING, PAID, FULFILLED = "pending_payment", "paid", "fulfilled"


def order_payable(*, order: Any) -> Payable:
    """Return what paying ``order`` means for a gateway: its id, payer, total, currency and lines."""
    contact = account_contact(subject_id=order.subject_id)
    lang = order.lang if order.lang in ("fr", "en") else "fr"
    name = str(order.buyer_name or "")
    if order.organisation_name:
        name = f"{name} ({order.organisation_name})" if name else str(order.organisation_name)
    return Payable(
        reference=order.pk,
        subject_id=order.subject_id,
        amount=int(order.gross_cents),
        currency=str(order.currency),
        lines=tuple(f"{line.name(lang)} × {line.quantity}" for line in order.lines.all()),
        customer_name=name,
        customer_email=(contact.address or "") if contact is not None else "",
    )


def order_pay_url(order: Any) -> str:
    """Return the path of the page where ``order`` is paid."""
    return reverse("billing:pay", args=[order.pk])


def _paid(order: Any, *, reference: uuid.UUID, amount: int, actor: str) -> None:
    if order.status in (PAID, FULFILLED):
        return  # already paid (staff recorded it by hand): nothing to announce twice
    if amount != order.gross_cents:
        services.payment_flag(reference=reference, reason="order_amount_mismatch", actor=actor)
        return
    try:
        with transaction.atomic():
            paid = commerce_services.order_mark_paid(order=order, actor=actor)
            # The invoice is issued with the payment, in the same transaction: numbered, frozen.
            invoices.invoice_issue(order=paid, actor=actor)
    except PacteError as refused:
        # Cancelled while the customer paid: keep the money visible to staff, who refund it.
        logger.warning("billing: paid order not payable: code=%s", refused.code)
        services.payment_flag(reference=reference, reason="order_not_payable", actor=actor)
        return
    webhook_emit(
        event="order.paid",
        subject_id=paid.subject_id,
        data={
            "order": ("commerce.orders", paid.reference),
            "amount": ("commerce.orders", int(paid.gross_cents)),
            "currency": ("commerce.orders", paid.currency),
            "paid_at": ("commerce.orders", paid.paid_at.isoformat() if paid.paid_at else ""),
        },
        actor=actor,
    )


def _credit(order: Any, *, refunded: int, actor: str) -> None:
    """Issue the credit note of what was refunded since the last one (refunds are never edits)."""
    invoice = invoice_selectors.invoice_of_order(order_id=order.pk)
    if invoice is None:
        return  # never invoiced (refunded before it was paid, or paid by hand): nothing to correct
    delta = refunded - invoice_selectors.credited_cents(invoice=invoice)
    if delta > 0:
        invoices.credit_note_issue(invoice=invoice, amount=delta, actor=actor)


def _failed_mail(order: Any) -> None:
    contact = account_contact(subject_id=order.subject_id)
    if contact is None or not contact.address or contact.mail_stopped:
        return

    lang = contact.language if contact.language in ("fr", "en") else "fr"
    with translation.override(lang):
        text = render_to_string(
            "billing/email/payment_failed.txt",
            {
                "order": order,
                "url": settings.PACTE_BASE_URL.rstrip("/") + order_pay_url(order),
            },
        ).strip()
    subject_line, _sep, body = text.partition("\n")
    message_queue(
        subject_id=order.subject_id,
        to=contact.address,
        subject_line=subject_line.strip(),
        body=body.strip() + "\n",
        template="billing/payment_failed",
        purpose=order.purpose,
    )


def order_payment_outcome(
    *, outcome: str, reference: uuid.UUID, amount: int, refunded: int, actor: str
) -> None:
    """Move the order paid by ``reference`` as its payment's ``outcome`` says (see the module's docstring)."""
    order = commerce_selectors.order_get(order_id=reference)
    if order is None:
        return  # not an order (another app's payable)
    if outcome == "paid":
        _paid(order, reference=reference, amount=amount, actor=actor)
    elif outcome == "failed":
        if actor == "system" and order.status == PENDING and not FAILURE_MAILED_BY_CALLER.get():
            _failed_mail(order)
    elif outcome in ("refunded", "partially_refunded"):
        _credit(order, refunded=refunded, actor=actor)
        if outcome == "refunded" and order.status in (PAID, FULFILLED):
            commerce_services.order_refund(order=order, actor=actor)
    elif outcome == "flagged":
        logger.warning("billing: payment flagged for staff: order=%s", order.pk)


def customer_country(*, subject_id: Any) -> str:
    """Return the customer's country: their account address's, else the operator's (the policy's)."""

    return account_country(subject_id=subject_id) or policy_active().operator.country


@dataclass(frozen=True)
class TypedCard:
    """A card as typed on the pay page: passed to the gateway once, never stored, never logged."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str

    def __repr__(self) -> str:  # a traceback or a debug print shows no card data
        return "TypedCard(…)"


def order_pay(
    *,
    order: Any,
    actor: str,
    card: TypedCard | None = None,
    saved_method_id: uuid.UUID | None = None,
    save: bool = False,
) -> PaymentAttempt:
    """Pay ``order`` (pending payment) with a typed card or a saved one, at the customer's gateway.

    The typed card goes to the gateway once (its ``payment_method_create``: the sandbox in process,
    Stripe in test mode) and comes back as a token; Pacte keeps the token only when ``save`` (with
    brand, last 4 digits and expiry). A second call while the first payment is on its way changes
    nothing and returns it (double click: one payment). Refusals are coded ``PacteError``s saying
    what to do; a gateway that does not answer leaves the order pending.
    """
    if order.status != PENDING:
        raise PacteError(_("This order is not waiting for a payment."), error_codes.NOT_PAYABLE, status=409)
    country = customer_country(subject_id=order.subject_id)
    choice = gateway_choose(country)
    implementation = gateway_get(choice.gateway)
    live = selectors.payment_live(reference=order.pk)
    if live is not None and live.state not in ("created", "pending"):
        return live  # already on its way, paid or set aside: a second click changes nothing
    if saved_method_id is not None:
        method = selectors.access_payment_method(subject_id=order.subject_id, method_id=saved_method_id)
        if method.gateway != choice.gateway:
            raise PacteError(
                _("This saved card belongs to another payment service: type your card instead."),
                error_codes.BAD_CARD,
            )
        token, save = str(method.token), False
    elif card is not None:
        if not implementation.card_form():
            raise PacteError(
                _("Cards are typed on the payment service's own page for this shop."), error_codes.BAD_CARD
            )
        try:
            token = implementation.payment_method_create(
                number=card.number, exp_month=card.exp_month, exp_year=card.exp_year, cvc=card.cvc
            ).token
        except GatewayUnavailable:
            raise _unavailable(choice.gateway) from None
        except GatewayRefused as refused:
            raise _refused(refused.code) from None
    else:
        raise PacteError(_("Type your card, or choose a saved one."), error_codes.BAD_CARD)
    started = payment_start(payable=order_payable(order=order), country=country, actor=actor)
    if started.attempt.state not in ("pending", "failed"):
        return started.attempt
    return payment_pay(attempt_id=started.attempt.id, payment_method=token, actor=actor, save_method=save)


def order_checkout(*, order: Any, actor: str) -> str:
    """Start paying ``order`` on its gateway's hosted page; return the page's address to redirect to.

    For a gateway whose ``checkout_hosted()`` is True (Stripe with ``PACTE_STRIPE_CHECKOUT=hosted``):
    a Checkout Session for the order's total, its lines and the customer's gateway account; the buyer
    comes back to the order's pay page, and the signed ``checkout.session.completed`` webhook pays it.
    A second click while the session is open returns the same page (one payment).
    """

    if order.status != PENDING:
        raise PacteError(_("This order is not waiting for a payment."), error_codes.NOT_PAYABLE, status=409)
    country = customer_country(subject_id=order.subject_id)
    choice = gateway_choose(country)
    if not gateway_get(choice.gateway).checkout_hosted():
        raise PacteError(
            _("This shop takes cards on its own pay page: type your card there."), error_codes.BAD_CARD
        )
    back = settings.PACTE_BASE_URL.rstrip("/") + order_pay_url(order)
    started = payment_start(
        payable=order_payable(order=order),
        country=country,
        actor=actor,
        gateway=choice.gateway,
        hosted=HostedCheckout(success_url=f"{back}?checkout=done", cancel_url=f"{back}?checkout=cancelled"),
    )
    if not started.client_secret:
        raise PacteError(
            _("This payment is already on its way: reload the page in a moment to see where it is."),
            error_codes.NOT_PAYABLE,
            status=409,
        )
    return started.client_secret
