"""Billing's background work: delivering the sandbox gateway's signed notifications."""

from __future__ import annotations

from django_tasks import task

from pacte.billing.gateways.sandbox import SIGNATURE_HEADER


@task()
def sandbox_webhook_deliver(*, body: str, signature: str) -> str:
    """Hand a sandbox notification to the same webhook flow as ``/billing/webhooks/sandbox/``."""
    from pacte.billing.flows.webhook import webhook_receive

    return webhook_receive(gateway="sandbox", body=body.encode(), headers={SIGNATURE_HEADER: signature})
