"""Messaging tasks, run by the worker."""

from __future__ import annotations

from collections import Counter

from django_tasks import task

# ``services`` enqueues ``message_send`` and imports this module back: both sides use module attributes.
from pacte.messaging import selectors, services, spool


@task()
def message_send(message_id: str) -> str:
    return services.message_deliver(message_id=message_id)


@task()
def outbox_send_batch(message_ids: list[str]) -> dict[str, int]:
    """Send a chunk of a campaign over one relay connection; return how many ended in each status."""
    return dict(Counter(services.messages_deliver(message_ids=message_ids).values()))


@task()
def outbox_retry_due() -> int:
    """Send again every message whose next attempt is due (back-off after a failure)."""
    due = selectors.outbox_due()
    services.messages_deliver(message_ids=due)
    return len(due)


@task()
def subscribers_purge() -> int:
    """Forget the visitors who never confirmed their subscription."""
    return services.subscribers_purge_unconfirmed()


@task()
def mail_spool_purge() -> int:
    """Delete the embedded default's spooled mail files older than PACTE_MAIL_SPOOL_HOURS."""
    return spool.spool_purge()
