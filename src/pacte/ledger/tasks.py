"""Ledger tasks, run by the worker."""

from __future__ import annotations

from django_tasks import task

from pacte.ledger.services import sth_sign_if_due


@task()
def ledger_sign_if_due() -> int | None:
    """Sign a tree head when entries were added since the last one and its period has passed."""
    head = sth_sign_if_due()
    return head.tree_size if head else None
