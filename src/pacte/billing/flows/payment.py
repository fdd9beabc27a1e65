"""Paying a payable: open the attempt (disclosed), create it at the gateway, confirm it, refund it.

Each step is a short transaction; the gateway is called between them, never inside one that holds
locks for long. A gateway that does not answer leaves the attempt ``created`` (nothing half-written):
the customer is told and may try again, which reuses the same attempt and the same idempotency key, so
the gateway creates the payment once. Paid, failed and refunded come from the gateway's webhooks
(``flows/webhook.py``); a declined card is also recorded at once, from the gateway's answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.utils.translation import gettext as _

from pacte.billing import error_codes, services
from pacte.billing.flows.accounts import gateway_account_open
from pacte.billing.gateways import gateway_choice, gateway_choose, gateway_get
from pacte.billing.gateways.base import GatewayRefused, GatewayUnavailable, Payable
from pacte.billing.models import PaymentAttempt, PaymentState
from pacte.billing.selectors import gateway_account_active, payment_get
from pacte.core.errors import PacteError


@dataclass(frozen=True)
class PaymentStarted:
    """The attempt, and what the customer's browser needs for the gateway's step (never stored)."""

    attempt: PaymentAttempt
    client_secret: str


def _unavailable(gateway: str) -> PacteError:
    return PacteError(
        _(
            "The payment service %(gateway)s does not answer right now. Nothing was charged; please try again in a few minutes."
        )
        % {"gateway": gateway},
        error_codes.GATEWAY_UNAVAILABLE,
        status=503,
    )


def _refused(code: str) -> PacteError:
    messages = {
        "card_declined": _("Your card was declined. Nothing was charged; try another card."),
        "insufficient_funds": _(
            "Your card was declined (insufficient funds). Nothing was charged; try another card."
        ),
        "invalid_number": _("This card number is not valid. Check the digits and try again."),
        "invalid_cvc": _("The security code must be 3 or 4 digits."),
        "expired_card": _("This card has expired. Use another card."),
    }
    return PacteError(
        messages.get(code, _("The payment service refused this payment (%(code)s).") % {"code": code}),
        error_codes.GATEWAY_ERROR,
    )


@dataclass(frozen=True)
class HostedCheckout:
    """Where the gateway's hosted page sends the buyer back: paid (``success_url``) or not (``cancel_url``)."""

    success_url: str
    cancel_url: str


def payment_start(
    *,
    payable: Payable,
    country: str | None,
    actor: str,
    gateway: str | None = None,
    hosted: HostedCheckout | None = None,
) -> PaymentStarted:
    """Start paying ``payable`` at the gateway the operator sets for ``country`` (or ``gateway``).

    A second call for the same payable returns the same attempt (double click on Pay: one payment).
    Opens the customer's account at that gateway first if they have none. Each gateway call gets only
    the fields it really sends (``Gateway.sends``), checked by the policy before the call; the
    disclosure is recorded once the gateway answered, so a refused host or a gateway that is down
    leaves no ``disclosure`` entry for data never sent. ``hosted``: the buyer pays on the gateway's
    hosted page (``Gateway.checkout_create``); ``client_secret`` is then that page's address, also on a
    second click while the checkout is still open.
    """
    choice = gateway_choice(gateway) if gateway else gateway_choose(country)
    implementation = gateway_get(choice.gateway)
    services.payable_check(payable)
    account = gateway_account_active(subject_id=payable.subject_id, gateway=choice.gateway)
    if account is None:
        account = gateway_account_open(
            subject_id=payable.subject_id,
            gateway=choice.gateway,
            email=payable.customer_email,
            name=payable.customer_name,
            actor=actor,
        )
    attempt, data = services.payment_attempt_open(
        payable=payable,
        choice=choice,
        customer_ref=str(account.customer_ref),
        actor=actor,
    )
    if data is None:
        url = ""
        if hosted is not None and attempt.state == PaymentState.PENDING and attempt.gateway_id:
            try:
                url = implementation.checkout_url(gateway_id=attempt.gateway_id)
            except GatewayUnavailable:
                raise _unavailable(choice.gateway) from None
            except GatewayRefused:
                url = ""
        return PaymentStarted(attempt=attempt, client_secret=url)
    call = "checkout_create" if hosted is not None else "payment_create"
    sends = implementation.sent_fields(call)
    data = {key: item for key, item in data.items() if key in sends}
    payload = services.gateway_disclosure_check(
        recipient=choice.recipient or "", subject_id=payable.subject_id, data=data, actor=actor
    )
    sent = {key: data[key] for key in payload}
    if "amount" not in payload or "currency" not in payload:
        raise PacteError(
            _("The policy does not let %(recipient)s receive the amount to pay.")
            % {"recipient": choice.recipient},
            error_codes.NOT_PAYABLE,
        )
    try:
        if hosted is not None:
            created = implementation.checkout_create(
                payload=payload,
                idempotency_key=f"pacte-{attempt.id}-checkout",
                success_url=hosted.success_url,
                cancel_url=hosted.cancel_url,
            )
        else:
            created = implementation.payment_create(
                payload=payload, idempotency_key=f"pacte-{attempt.id}-create"
            )
    except GatewayUnavailable:
        raise _unavailable(choice.gateway) from None
    except GatewayRefused as refused:
        # The gateway answered: what the call carried reached it, even though it said no.
        services.gateway_disclosure_record(
            recipient=attempt.recipient, subject_id=attempt.subject_id, sent=sent, actor=actor
        )
        services.payment_state_set(
            attempt_id=attempt.id, state=PaymentState.FAILED, reason=refused.code, actor=actor
        )
        raise _refused(refused.code) from None
    attempt = services.payment_attempt_sent(
        attempt_id=attempt.id, gateway_id=created.gateway_id, actor=actor, sent=sent
    )
    return PaymentStarted(attempt=attempt, client_secret=created.client_secret)


def payment_pay(
    *, attempt_id: uuid.UUID, payment_method: str, actor: str, save_method: bool = False
) -> PaymentAttempt:
    """Confirm a pending payment with the customer's payment-method token (from the gateway's card step).

    The payment becomes ``processing``; its webhook makes it paid. A declined card makes it ``failed``
    at once and raises a coded error saying what to do. ``save_method`` keeps the method for renewals
    (token, brand, last 4, expiry only).
    """
    attempt = payment_get(attempt_id=attempt_id)
    if attempt is None:
        raise PacteError(_("There is no such payment."), error_codes.PAYMENT_NOT_FOUND, status=404)
    if attempt.state not in (PaymentState.PENDING, PaymentState.FAILED):
        return attempt  # already on its way, paid, or set aside: a second click changes nothing
    implementation = gateway_get(attempt.gateway)
    attempt, changed = services.payment_state_set(
        attempt_id=attempt.id, state=PaymentState.PROCESSING, reason="confirm", actor=actor
    )
    if not changed:
        return attempt  # a concurrent click moved it first: that click confirms it, this one changes nothing
    try:
        implementation.payment_confirm(
            gateway_id=attempt.gateway_id,
            payment_method=payment_method,
            idempotency_key=f"pacte-{attempt.id}-confirm-{payment_method[-12:]}",
        )
    except GatewayUnavailable:
        # The payment stays ``processing``: the confirmation is sent again later, with the same
        # idempotency key (so the gateway charges once), and the gateway's webhook settles it.
        # reason: tasks.py runs these flows (imports them at its top); enqueueing from here is the cycle.
        from pacte.billing.tasks import payment_confirm_retry_schedule

        payment_confirm_retry_schedule(attempt_id=attempt.id, payment_method=payment_method, tries=0)
        raise PacteError(
            _(
                "The payment service %(gateway)s does not answer right now. Your payment is not lost: we send it again in a few minutes and mail you the outcome."
            )
            % {"gateway": attempt.gateway},
            error_codes.GATEWAY_UNAVAILABLE,
            status=503,
        ) from None
    except GatewayRefused as refused:
        services.payment_state_set(
            attempt_id=attempt.id, state=PaymentState.FAILED, reason=refused.code, actor=actor
        )
        raise _refused(refused.code) from None
    if save_method:
        details = implementation.payment_method_details(token=payment_method)
        services.payment_method_store(
            subject_id=attempt.subject_id, gateway=attempt.gateway, details=details, actor=actor
        )
    return PaymentAttempt.objects.get(pk=attempt.id)


def payment_refund(*, attempt_id: uuid.UUID, amount: int | None, actor: str) -> PaymentAttempt:
    """Refund a paid payment in full (``amount`` None) or in part, through its gateway (staff only).

    The gateway's answer is recorded at once; its webhook, when it comes, changes nothing more.
    """
    attempt = payment_get(attempt_id=attempt_id)
    if attempt is None:
        raise PacteError(_("There is no such payment."), error_codes.PAYMENT_NOT_FOUND, status=404)
    left = attempt.amount - attempt.refunded_amount
    if attempt.state not in (PaymentState.PAID, PaymentState.PARTIALLY_REFUNDED) or left <= 0:
        raise PacteError(_("Only a paid payment can be refunded."), error_codes.BAD_REFUND)
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= left
    ):
        raise PacteError(
            _("The refund must be between 1 and %(left)s cents (what is left to refund).") % {"left": left},
            error_codes.BAD_REFUND,
        )
    implementation = gateway_get(attempt.gateway)
    refunded_before = attempt.refunded_amount
    amount = amount or left  # "in full" is what is left, said explicitly to the gateway
    try:
        refund = implementation.refund_create(
            gateway_id=attempt.gateway_id,
            amount=amount,
            idempotency_key=f"pacte-{attempt.id}-refund-{refunded_before}-{amount}",
        )
    except GatewayUnavailable:
        raise _unavailable(attempt.gateway) from None
    except GatewayRefused as refused:
        raise _refused(refused.code) from None
    if refund.status not in ("succeeded", "pending"):
        raise _refused(refund.status)
    return services.payment_refund_record(
        attempt_id=attempt.id,
        refunded_total=refunded_before + refund.amount,
        actor=actor,
        reason="staff_refund",
    )
