"""Messaging tasks, run by the worker."""

from __future__ import annotations

from django_tasks import task


@task()
def message_send(message_id: str) -> str:
    from pacte.messaging.services import message_deliver

    return message_deliver(message_id=message_id)


@task()
def outbox_retry_due() -> int:
    """Send again every message whose next attempt is due (back-off after a failure)."""
    from pacte.messaging.services import message_deliver, outbox_due

    due = outbox_due()
    for message_id in due:
        message_deliver(message_id=message_id)
    return len(due)


@task()
def subscribers_purge() -> int:
    """Forget the visitors who never confirmed their subscription."""
    from pacte.messaging.services import subscribers_purge_unconfirmed

    return subscribers_purge_unconfirmed()


@task()
def mail_spool_purge() -> int:
    """Delete the embedded default's spooled mail files older than PACTE_MAIL_SPOOL_HOURS."""
    from pacte.messaging.spool import spool_purge

    return spool_purge()
