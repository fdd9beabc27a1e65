"""Receivers for django-allauth's signals (allauth is a library, not a Pacte app: no cross-app signals)."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import email_confirmed
from django.db import transaction

from pacte.billing.tasks import gateway_accounts_open_task


def gateway_accounts_at_activation(
    sender: Any, request: Any = None, email_address: Any = None, **kw: Any
) -> None:
    """Open the holder's payment accounts once their address is confirmed (PluSuite's terms), after commit.

    Queued as a task: a gateway that does not answer never breaks the confirmation (the task fails
    and the accounts open at the first payment instead).
    """
    user = getattr(email_address, "user", None)
    subject_id = getattr(user, "subject_id", None)
    if subject_id is None:
        return

    transaction.on_commit(lambda: gateway_accounts_open_task.enqueue(subject_id=str(subject_id)))


def connect() -> None:
    email_confirmed.connect(
        gateway_accounts_at_activation, dispatch_uid="pacte.billing.accounts_at_activation"
    )
