"""Writes of billing: payment attempts and their states, webhook ids, payment accounts, saved methods.

Every state change of a payment appends a ``payment.state`` ledger entry (payment id, gateway, state,
coded reason — never an amount or a name) in the same transaction, and tells the registered outcome
callbacks (``hooks.py``) in that transaction too. Calls to gateways are not made here: the flows
(``flows/``) call gateways between these short transactions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.billing import error_codes
from pacte.billing.app_settings import GatewayChoice
from pacte.billing.gateways import gateway_get
from pacte.billing.gateways.base import CURRENCIES, CardDetails, GatewayEvent, Payable
from pacte.billing.hooks import payment_outcome_emit
from pacte.billing.models import (
    TRANSITIONS,
    GatewayCustomer,
    PaymentAttempt,
    PaymentState,
    StoredPaymentMethod,
    WebhookEvent,
)
from pacte.core.errors import PacteError
from pacte.ledger.services import entry_append
from pacte.sharing.services import disclose
from pacte.subjects.registry import value_plain

MAX_AMOUNT = 100_000_000  # one million euros in cents: beyond, a payable is a mistake
OUTCOMES = {"paid", "failed", "partially_refunded", "refunded", "flagged"}


def payable_check(payable: Payable) -> None:
    """Refuse a payable that cannot be paid (coded error naming the field), before anything is written."""
    if not isinstance(payable.reference, uuid.UUID) or not isinstance(payable.subject_id, uuid.UUID):
        raise PacteError(
            _("A payable needs the uuid of the thing paid and of the payer."), error_codes.BAD_PAYABLE
        )
    if (
        not isinstance(payable.amount, int)
        or isinstance(payable.amount, bool)
        or not 0 < payable.amount <= MAX_AMOUNT
    ):
        raise PacteError(
            _("The amount must be a whole number of cents between 1 and %(max)s.") % {"max": MAX_AMOUNT},
            error_codes.BAD_AMOUNT,
        )
    if payable.currency not in CURRENCIES:
        raise PacteError(
            _("Payments are taken in %(valid)s only, not %(currency)s.")
            % {"valid": ", ".join(sorted(CURRENCIES)), "currency": repr(payable.currency)},
            error_codes.BAD_CURRENCY,
        )
    if not payable.lines or not all(isinstance(line, str) and line.strip() for line in payable.lines):
        raise PacteError(_("A payable needs at least one description line."), error_codes.BAD_PAYABLE)


def _record(attempt: PaymentAttempt, *, state: str, reason: str, actor: str) -> None:
    entry_append(
        type="payment.state",
        subject_id=attempt.subject_id,
        actor=actor,
        payload={"payment": str(attempt.id), "gateway": attempt.gateway, "state": state, "reason": reason},
    )


def payment_data(payable: Payable, *, customer_ref: str | None = None) -> dict[str, tuple[str, Any]]:
    """Everything a gateway could be sent about a payment, each with its policy category."""
    data: dict[str, tuple[str, Any]] = {
        "reference": ("commerce.orders", str(payable.reference)),
        "amount": ("commerce.orders", payable.amount),
        "currency": ("commerce.orders", payable.currency),
        "lines": ("commerce.orders", list(payable.lines)),
        "name": ("identity.name", payable.customer_name),
        "email": ("contact.email", payable.customer_email),
    }
    if customer_ref:
        data["customer"] = ("billing.payment_token", customer_ref)
    return data


@transaction.atomic
def payment_attempt_open(
    *, payable: Payable, choice: GatewayChoice, customer_ref: str | None, actor: str
) -> tuple[PaymentAttempt, dict[str, tuple[str, Any]] | None]:
    """Record a payment attempt for ``payable``; return it with what its gateway could be sent.

    Returns (attempt, ``payment_data``). When the payable already has a live attempt that reached its
    gateway (a second click on Pay), that attempt comes back with None and nothing is written. An
    attempt left ``created`` (its gateway was down) is reused. Nothing is disclosed here: the flow
    checks the fields its gateway's call sends (``gateway_disclosure_check``), makes the call, and the
    disclosure is recorded with its outcome (``payment_attempt_sent``, ``gateway_disclosure_record``).
    """
    payable_check(payable)
    existing = (
        PaymentAttempt.objects.select_for_update().filter(reference=payable.reference, live=True).first()
    )
    if existing is not None and (
        existing.state != PaymentState.CREATED or existing.gateway != choice.gateway
    ):
        return existing, None
    attempt = existing
    if attempt is None:
        attempt = PaymentAttempt(
            subject_id=payable.subject_id,
            reference=payable.reference,
            gateway=choice.gateway,
            recipient=choice.recipient or "",
            amount=payable.amount,
            currency=payable.currency,
        )
        attempt.full_clean()
        try:
            with transaction.atomic():
                attempt.save(force_insert=True)
        except IntegrityError:
            # A concurrent click created it first: that one is the payment.
            return PaymentAttempt.objects.get(reference=payable.reference, live=True), None
        _record(attempt, state=PaymentState.CREATED, reason="opened", actor=actor)
    return attempt, payment_data(payable, customer_ref=customer_ref)


# --- disclosures to gateways: checked before the call, recorded with its outcome ------------------


def gateway_disclosure_check(
    *, recipient: str, subject_id: uuid.UUID, data: Mapping[str, tuple[str, Any]], actor: str
) -> dict[str, Any]:
    """Return what of ``data`` the policy lets ``recipient`` receive for payment, recording nothing.

    The policy's whole check (``sharing.services.disclose``: recipient, purpose, person, consent,
    minimisation) runs in a transaction that is rolled back, so a refusal raises its coded error and a
    call that is then refused by the gate, or never made, leaves no ``disclosure`` entry for data never
    sent. Record what was sent with the call's outcome (``gateway_disclosure_record`` or the services
    that take ``sent``). ``recipient`` empty (an in-process gateway): everything, nothing leaves Pacte.
    """
    if not recipient:
        return {name: value for name, (_category, value) in data.items()}
    with transaction.atomic():
        checked = disclose(
            recipient=recipient, purpose="payment", subject_id=subject_id, data=dict(data), actor=actor
        )
        transaction.set_rollback(True)
    return checked.payload


def _disclosure_record(
    *, recipient: str, subject_id: uuid.UUID, sent: Mapping[str, tuple[str, Any]], actor: str
) -> None:
    if not recipient or not sent:
        return  # in process, or the call carried nothing about the person: nothing was disclosed
    try:
        disclose(recipient=recipient, purpose="payment", subject_id=subject_id, data=dict(sent), actor=actor)
    except PacteError:
        # The policy or the person changed between the check and the call's answer (consent withdrawn,
        # restriction, erasure): the data did leave, so the record says so, in the gate's own form.
        entry_append(
            type="disclosure",
            subject_id=subject_id,
            actor=actor,
            payload={
                "recipient": recipient,
                "purpose": "payment",
                "categories": sorted({category for category, _value in sent.values()}),
            },
        )


@transaction.atomic
def gateway_disclosure_record(
    *, recipient: str, subject_id: uuid.UUID, sent: Mapping[str, tuple[str, Any]], actor: str
) -> None:
    """Record the disclosure of ``sent`` (field → (category, value)) to ``recipient``: a call was answered.

    Only fields the call really sent, and only once it reached the gateway (an answer, even a refusal);
    ``sent`` empty writes nothing.
    """
    _disclosure_record(recipient=recipient, subject_id=subject_id, sent=sent, actor=actor)


def _transition(attempt: PaymentAttempt, *, state: str, reason: str, actor: str, fields: list[str]) -> bool:
    """Move ``attempt`` (locked by the caller) to ``state`` if allowed; record it; tell the callbacks."""
    if state == attempt.state and state != PaymentState.PARTIALLY_REFUNDED:
        return False
    if state not in TRANSITIONS[attempt.state]:
        return False
    live = state != PaymentState.FAILED
    if live and not attempt.live:
        # A failed attempt paid after all, while the payable has another live payment: staff decide.
        others = PaymentAttempt.objects.filter(reference=attempt.reference, live=True).exclude(pk=attempt.pk)
        if others.exists():
            state, reason, live = PaymentState.FLAGGED, "paid_twice", False
    attempt.state = state
    attempt.reason = reason[:40]
    attempt.live = live
    attempt.full_clean()
    attempt.save(update_fields=["state", "reason", "live", "updated_at", *fields])
    _record(attempt, state=state, reason=reason, actor=actor)
    if state in OUTCOMES:
        payment_outcome_emit(
            outcome=state,
            reference=attempt.reference,
            amount=attempt.amount,
            refunded=attempt.refunded_amount,
            actor=actor,
        )
    return True


@transaction.atomic
def payment_attempt_sent(
    *,
    attempt_id: uuid.UUID,
    gateway_id: str,
    actor: str,
    sent: Mapping[str, tuple[str, Any]] | None = None,
) -> PaymentAttempt:
    """Record the gateway's id of a created attempt; it now waits for the customer.

    ``sent`` (field → (category, value)) is what the creating call carried: its disclosure is recorded
    in this same transaction.
    """
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
    _disclosure_record(
        recipient=attempt.recipient, subject_id=attempt.subject_id, sent=sent or {}, actor=actor
    )
    if attempt.gateway_id and attempt.gateway_id != gateway_id:
        raise PacteError(_("This payment already has another id at its gateway."), error_codes.GATEWAY_ERROR)
    attempt.gateway_id = gateway_id
    if not _transition(
        attempt, state=PaymentState.PENDING, reason="sent", actor=actor, fields=["gateway_id"]
    ):
        attempt.save(update_fields=["gateway_id", "updated_at"])
    return attempt


@transaction.atomic
def payment_state_set(
    *, attempt_id: uuid.UUID, state: str, reason: str, actor: str
) -> tuple[PaymentAttempt, bool]:
    """Move a payment to ``state`` when the transition table allows it; return (attempt, changed)."""
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
    return attempt, _transition(attempt, state=state, reason=reason, actor=actor, fields=[])


@transaction.atomic
def payment_refund_record(
    *, attempt_id: uuid.UUID, refunded_total: int, actor: str, reason: str
) -> PaymentAttempt:
    """Record that ``refunded_total`` (cumulative, minor units) is refunded; never lowers what is known."""
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
    _apply_refund(attempt, refunded_total, actor=actor, reason=reason)
    return attempt


def _apply_refund(attempt: PaymentAttempt, refunded_total: int, *, actor: str, reason: str) -> str:
    if refunded_total <= attempt.refunded_amount:
        return "stale"
    if refunded_total > attempt.amount:
        _transition(
            attempt, state=PaymentState.FLAGGED, reason="refund_exceeds_amount", actor=actor, fields=[]
        )
        return "flagged"
    state = PaymentState.REFUNDED if refunded_total == attempt.amount else PaymentState.PARTIALLY_REFUNDED
    if state not in TRANSITIONS[attempt.state]:
        return "ignored"
    attempt.refunded_amount = refunded_total
    _transition(attempt, state=state, reason=reason, actor=actor, fields=["refunded_amount"])
    return "applied"


@transaction.atomic
def webhook_event_apply(*, gateway: str, event: GatewayEvent) -> str:
    """Apply a verified, normalised webhook once; return what happened (a code, for logs and tests).

    ``duplicate``: its id was seen before, nothing done. ``unknown_payment``: no payment of Pacte has
    that id (another system's, or an erased person's), acknowledged and nothing created. ``stale``: older
    than what was already applied. ``flagged``: amount or currency differ from the payment's, which is
    set aside for staff and not paid. ``ignored``: the transition is not allowed. ``applied``.
    """
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(gateway=gateway, event_id=event.event_id[:120])
    except IntegrityError:
        return "duplicate"
    if event.kind not in ("paid", "failed", "refunded") or not event.payment_id:
        return "ignored"
    attempt = (
        PaymentAttempt.objects.select_for_update()
        .filter(gateway=gateway, gateway_id=event.payment_id)
        .first()
    )
    if attempt is None:
        return "unknown_payment"
    actor = "system"
    if event.currency and event.currency != attempt.currency:
        changed = _transition(
            attempt, state=PaymentState.FLAGGED, reason="currency_mismatch", actor=actor, fields=[]
        )
        return "flagged" if changed else "ignored"
    if event.kind == "paid" and event.amount != attempt.amount:
        changed = _transition(
            attempt, state=PaymentState.FLAGGED, reason="amount_mismatch", actor=actor, fields=[]
        )
        return "flagged" if changed else "ignored"
    if event.kind == "refunded":
        return _apply_refund(attempt, int(event.amount or 0), actor=actor, reason="gateway_refund")
    if attempt.last_event_at is not None and event.created < attempt.last_event_at:
        return "stale"
    state = PaymentState.PAID if event.kind == "paid" else PaymentState.FAILED
    attempt.last_event_at = event.created
    if not _transition(
        attempt, state=state, reason=event.raw_type[:40] or event.kind, actor=actor, fields=["last_event_at"]
    ):
        return "ignored"
    return "applied"


# --- payment accounts (customer records at gateways) ------------------------------------------------


def _record_account(account: GatewayCustomer, *, state: str, reason: str, actor: str) -> None:
    entry_append(
        type="payment_account.state",
        subject_id=account.subject_id,
        actor=actor,
        payload={"account": str(account.id), "gateway": account.gateway, "state": state, "reason": reason},
    )


def gateway_account_data(*, email: str, name: str) -> dict[str, tuple[str, Any]]:
    """Everything opening a customer record could send about the person, each with its policy category."""
    data: dict[str, tuple[str, Any]] = {"email": ("contact.email", email)}
    if name:
        data["name"] = ("identity.name", name)
    return data


@transaction.atomic
def gateway_account_record(
    *,
    subject_id: uuid.UUID,
    choice: GatewayChoice,
    customer_ref: str,
    actor: str,
    sent: Mapping[str, tuple[str, Any]] | None = None,
) -> GatewayCustomer:
    """Record a customer record opened at a gateway, with its ledger entry.

    ``sent`` (field → (category, value)) is what the opening call carried: its disclosure is recorded
    in this same transaction (nothing when the call carried nothing about the person).
    """
    account = GatewayCustomer(
        subject_id=subject_id,
        gateway=choice.gateway,
        recipient=choice.recipient or "",
        customer_ref=customer_ref,
    )
    account.full_clean(exclude=["customer_ref"])
    account.save(force_insert=True)
    _disclosure_record(recipient=account.recipient, subject_id=subject_id, sent=sent or {}, actor=actor)
    _record_account(account, state="opened", reason="activation", actor=actor)
    return account


@transaction.atomic
def gateway_account_closed(*, account_id: uuid.UUID, reason: str, actor: str) -> GatewayCustomer:
    """Record that a customer record was deleted at its gateway (by the holder, an erasure, the gateway)."""
    account = GatewayCustomer.objects.select_for_update().get(pk=account_id)
    if not account.active:
        return account
    account.active = False
    account.closed_at = timezone.now()
    account.close_reason = reason
    account.save(update_fields=["active", "closed_at", "close_reason"])
    _record_account(account, state="closed", reason=reason, actor=actor)
    return account


@transaction.atomic
def payment_method_store(
    *, subject_id: uuid.UUID, gateway: str, details: CardDetails, actor: str
) -> StoredPaymentMethod:
    """Keep a payment method for renewals: the gateway token, brand, last 4 digits and expiry, nothing else."""
    if not (details.last4.isdigit() and len(details.last4) == 4):
        raise PacteError(_("A saved card keeps exactly its last 4 digits."), error_codes.BAD_CARD)
    method = StoredPaymentMethod(
        subject_id=subject_id,
        gateway=gateway,
        token=details.token,
        brand=details.brand[:20],
        last4=details.last4,
        exp_month=details.exp_month,
        exp_year=details.exp_year,
    )
    method.full_clean(exclude=["token"])
    method.save(force_insert=True)
    return method


# --- export and erasure (registered in apps.py) -------------------------------------------------------

PAYMENT_EXPORT_FIELDS = (
    "id",
    "reference",
    "gateway",
    "amount",
    "currency",
    "refunded_amount",
    "state",
    "created_at",
    "updated_at",
)
PAYMENT_METHOD_EXPORT_FIELDS = ("id", "gateway", "brand", "last4", "exp_month", "exp_year", "created_at")
GATEWAY_CUSTOMER_EXPORT_FIELDS = ("id", "gateway", "active", "opened_at", "closed_at", "close_reason")


def _plain_rows(model: Any, subject: Any, fields: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for row in model._default_manager.filter(subject=subject).values(*fields).iterator(chunk_size=500):
        yield {name: value_plain(row[name]) for name in fields}


def payments_export(subject: Any) -> Iterator[dict[str, Any]]:
    """Export the person's payments (no gateway id: it is Pacte's to reconcile, not theirs)."""
    return _plain_rows(PaymentAttempt, subject, PAYMENT_EXPORT_FIELDS)


def payments_keep(subject: Any) -> int:
    """Keep payments on erasure: accounting records (amount, state, order reference) with no personal field.

    They name the person only through the pseudonymous subject id, whose data is otherwise gone.
    """
    return 0


def payment_methods_export(subject: Any) -> Iterator[dict[str, Any]]:
    """Export saved methods without the gateway token (a credential of the gateway, not the person's data)."""
    return _plain_rows(StoredPaymentMethod, subject, PAYMENT_METHOD_EXPORT_FIELDS)


def payment_methods_erase(subject: Any) -> int:
    deleted, _by_model = StoredPaymentMethod.objects.filter(subject=subject).delete()
    return deleted


def gateway_customers_export(subject: Any) -> Iterator[dict[str, Any]]:
    return _plain_rows(GatewayCustomer, subject, GATEWAY_CUSTOMER_EXPORT_FIELDS)


def gateway_customers_erase(subject: Any) -> int:
    """Delete every customer record of the person at its gateway, record each, then forget the rows.

    A gateway that does not answer fails the erasure step, which runs again (deleting twice is safe:
    "already gone" counts as deleted).
    """

    count = 0
    for account in list(GatewayCustomer.objects.filter(subject=subject, active=True)):
        gateway_get(account.gateway).customer_delete(customer_id=str(account.customer_ref))
        gateway_account_closed(account_id=account.id, reason="erasure", actor="system")
        count += 1
    GatewayCustomer.objects.filter(subject=subject).delete()
    return count


@transaction.atomic
def payment_flag(*, reference: uuid.UUID, reason: str, actor: str) -> PaymentAttempt | None:
    """Set the live payment of ``reference`` aside for staff (``flagged``, with a coded ``reason``).

    Used when what was paid cannot be applied as is (the order was cancelled meanwhile, its total
    differs). Returns the payment, or None when the payable has no live payment.
    """
    attempt = PaymentAttempt.objects.select_for_update().filter(reference=reference, live=True).first()
    if attempt is None:
        return None
    _transition(attempt, state=PaymentState.FLAGGED, reason=reason, actor=actor, fields=[])
    return attempt
