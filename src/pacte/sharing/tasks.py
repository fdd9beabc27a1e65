"""Sharing tasks, run by the worker: webhook deliveries and their retries."""

from __future__ import annotations

from django_tasks import task

# ``webhooks`` enqueues ``webhook_deliver_task`` and imports this module back: both use module attributes.
from pacte.sharing import webhooks


@task()
def webhook_deliver_task(delivery_id: str) -> str:
    return webhooks.webhook_deliver(delivery_id=delivery_id)


@task()
def webhook_retry_due() -> int:
    """Attempt every due webhook delivery (retries after back-off, first attempts whose task was lost)."""
    return len(webhooks.webhook_deliver_due())
