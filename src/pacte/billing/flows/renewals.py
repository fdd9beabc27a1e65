"""Renewals: an order of the next subscription period, charged with the customer's saved card.

Commerce's subscriptions (``subscriptions_renew_due`` creates the next period's order pending payment)
hand each renewal order, once committed, to ``renewal_charge_enqueue`` (registered with
``commerce.hooks.renewal_charger_register`` in billing's ``AppConfig.ready``): a ``renewal_retry`` task
with no try yet, which calls ``renewal_charge_order``. The charge
uses the newest card the customer saved at the gateway that serves them (token only: CNIL 2018-303).

A failed renewal mails the customer (with the page to pay by hand) and is tried again after 1, 3 and
7 days (``RENEWAL_RETRY_DAYS``, the ``renewal_retry`` task); after the last failure the registered
``renewal_suspended`` callbacks are told (commerce suspends the subscription), once.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from pacte.billing import selectors
from pacte.billing.flows.orders import (
    FAILURE_MAILED_BY_CALLER,
    PENDING,
    _failed_mail,
    customer_country,
    order_payable,
)
from pacte.billing.flows.payment import payment_pay, payment_start
from pacte.billing.gateways import gateway_choose
from pacte.billing.gateways.base import Payable
from pacte.commerce import selectors as commerce_selectors
from pacte.core.errors import PacteError

RENEWAL_RETRY_DAYS = (1, 3, 7)
_suspended: list[Callable[..., Any]] = []


def renewal_suspended_register(callback: Callable[..., Any]) -> None:
    """Call ``callback(reference=…, subject_id=…)`` when a renewal failed its last try (commerce suspends)."""
    if callback not in _suspended:
        _suspended.append(callback)


def renewal_suspended_unregister(callback: Callable[..., Any]) -> None:
    if callback in _suspended:
        _suspended.remove(callback)


def renewal_charge(*, payable: Payable, actor: str = "system") -> str:
    """Charge ``payable`` with the payer's newest saved card; return ``paid``, ``processing``, ``failed``
    (declined or gateway down: nothing charged) or ``no_method`` (no saved card at their gateway)."""
    choice = gateway_choose(customer_country(subject_id=payable.subject_id))
    methods = [
        m for m in selectors.payment_method_list(subject_id=payable.subject_id) if m.gateway == choice.gateway
    ]
    if not methods:
        return "no_method"
    token = str(selectors.access_payment_method(subject_id=payable.subject_id, method_id=methods[0].pk).token)
    try:
        started = payment_start(payable=payable, country=None, actor=actor, gateway=choice.gateway)
        if started.attempt.state not in ("pending", "failed"):
            return str(started.attempt.state)
        attempt = payment_pay(attempt_id=started.attempt.id, payment_method=token, actor=actor)
    except PacteError:
        return "failed"
    return str(attempt.state)


def renewal_charge_enqueue(order_id: Any) -> None:
    """Charge a new renewal order in the worker (first try), not in the caller's process."""
    # reason: tasks.py runs these flows (imports them at its top); enqueueing from here is the cycle.
    from pacte.billing.tasks import renewal_retry

    renewal_retry.enqueue(order_id=str(order_id), tries=0)


def renewal_charge_order(*, order_id: uuid.UUID, tries: int = 0) -> str:
    """Charge a renewal order pending payment; on failure mail the customer and plan the next try."""
    # reason: tasks.py runs these flows (imports them at its top); enqueueing from here is the cycle.
    from pacte.billing.tasks import renewal_retry

    order = commerce_selectors.order_get(order_id=order_id)
    if order is None or order.status != PENDING:
        return "settled"
    # This flow mails each failed try itself (also when the gateway did not answer): the outcome
    # callback stays quiet meanwhile, so the customer gets one mail per try.
    token = FAILURE_MAILED_BY_CALLER.set(True)
    try:
        outcome = renewal_charge(payable=order_payable(order=order))
    finally:
        FAILURE_MAILED_BY_CALLER.reset(token)
    if outcome in ("paid", "processing"):
        return outcome
    _failed_mail(order)
    if tries < len(RENEWAL_RETRY_DAYS):
        run_after = timezone.now() + datetime.timedelta(days=RENEWAL_RETRY_DAYS[tries])
        if renewal_retry.get_backend().supports_defer:
            transaction.on_commit(
                lambda: renewal_retry.using(run_after=run_after).enqueue(
                    order_id=str(order_id), tries=tries + 1
                )
            )
        return "retry_planned"
    for callback in list(_suspended):
        callback(reference=order.pk, subject_id=order.subject_id)
    return "suspended"
