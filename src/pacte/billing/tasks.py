"""Billing's background work: the sandbox's signed notifications, confirmations sent again, renewals."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from pacte.billing import services
from pacte.billing.flows.accounts import gateway_accounts_open
from pacte.billing.flows.orders import customer_country
from pacte.billing.flows.renewals import renewal_charge_order
from pacte.billing.flows.webhook import webhook_receive
from pacte.billing.gateways import gateway_get
from pacte.billing.gateways.base import GatewayRefused, GatewayUnavailable
from pacte.billing.gateways.sandbox import SIGNATURE_HEADER
from pacte.billing.selectors import payment_get
from pacte.vault.crypto import open_system, seal_system


@task()
def sandbox_webhook_deliver(*, body: str, signature: str) -> str:
    """Hand a sandbox notification to the same webhook flow as ``/billing/webhooks/sandbox/``."""

    return webhook_receive(gateway="sandbox", body=body.encode(), headers={SIGNATURE_HEADER: signature})


# Minutes between the tries of a confirmation the gateway did not answer; after the last, the payment
# is failed (nothing charged that Pacte knows of) and the customer is mailed to pay again.
CONFIRM_RETRY_MINUTES = (1, 5, 30)
SEAL_SECRET = "billing-retry"  # noqa: S105 - the name of a system secret in the key store


def _context(attempt_id: str) -> bytes:
    return f"billing.confirm_retry:{attempt_id}".encode()


def payment_confirm_retry_schedule(*, attempt_id: Any, payment_method: str, tries: int) -> bool:
    """Queue the next try of a confirmation that got no answer; False when every try is spent.

    The payment-method token (the gateway's, never card data) travels sealed under a system key, so
    the task queue's table holds no usable token.
    """
    if tries >= len(CONFIRM_RETRY_MINUTES):
        return False
    sealed = seal_system(payment_method, secret=SEAL_SECRET, context=_context(str(attempt_id)))
    run_after = timezone.now() + datetime.timedelta(minutes=CONFIRM_RETRY_MINUTES[tries])
    if not payment_confirm_retry.get_backend().supports_defer:
        # A backend that runs tasks at once (the tests') would retry while the gateway is still down:
        # the tests run the task themselves.
        return True
    transaction.on_commit(
        lambda: payment_confirm_retry.using(run_after=run_after).enqueue(
            attempt_id=str(attempt_id), sealed=sealed, tries=tries + 1
        )
    )
    return True


@task()
def payment_confirm_retry(*, attempt_id: str, sealed: str, tries: int) -> str:
    """Send a confirmation again (same idempotency key) while the payment is still ``processing``."""

    attempt = payment_get(attempt_id=attempt_id)
    if attempt is None or attempt.state != "processing":
        return "settled"
    payment_method = open_system(sealed, secret=SEAL_SECRET, context=_context(attempt_id))
    try:
        gateway_get(attempt.gateway).payment_confirm(
            gateway_id=attempt.gateway_id,
            payment_method=payment_method,
            idempotency_key=f"pacte-{attempt.id}-confirm-{payment_method[-12:]}",
        )
    except GatewayUnavailable:
        if payment_confirm_retry_schedule(attempt_id=attempt.id, payment_method=payment_method, tries=tries):
            return "again"
        services.payment_state_set(
            attempt_id=attempt.id, state="failed", reason="gateway_unavailable", actor="system"
        )
        return "gave_up"
    except GatewayRefused as refused:
        services.payment_state_set(attempt_id=attempt.id, state="failed", reason=refused.code, actor="system")
        return "refused"
    return "sent"


@task()
def renewal_retry(*, order_id: str, tries: int) -> str:
    """Try a failed renewal again (1, 3, then 7 days after), then suspend (``flows/renewals.py``)."""
    import uuid

    return renewal_charge_order(order_id=uuid.UUID(order_id), tries=tries)


@task()
def gateway_accounts_open_task(*, subject_id: str) -> int:
    """Open the person's accounts at the gateways serving their country (address's, else the operator's)."""
    import uuid

    subject = uuid.UUID(subject_id)
    return len(gateway_accounts_open(subject_id=subject, country=customer_country(subject_id=subject)))
