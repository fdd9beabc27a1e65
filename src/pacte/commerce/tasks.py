"""Commerce tasks, run by the worker (the scheduler enqueues them: apps.py)."""

from __future__ import annotations

from django_tasks import task

from pacte.commerce.contact import contact_messages_purge
from pacte.commerce.subscriptions import subscriptions_renew_due


@task()
def subscriptions_renew() -> dict[str, int]:
    """Renew the subscriptions whose period ended (next period's order) and end the cancelled ones."""
    return subscriptions_renew_due()


@task()
def contact_purge() -> int:
    """Delete contact-form messages whose retention, counted from the last exchange, has passed."""
    return contact_messages_purge()
