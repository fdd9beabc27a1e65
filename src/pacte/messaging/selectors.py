"""Reads of messaging: the outbox, the mail purposes, where a campaign's message goes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.accounts.selectors import account_contact, account_contacts
from pacte.core.errors import PacteError
from pacte.messaging import error_codes
from pacte.messaging.models import MessageStatus, OutboxMessage, Subscriber
from pacte.policy.selectors import policy_active
from pacte.vault.crypto import data_keys_load

UNSUBSCRIBE_SALT = "pacte.messaging.unsubscribe"


def outbox_due() -> list[str]:
    """Return the ids of queued messages whose next attempt is due (for the periodic retry task)."""
    return [
        str(pk)
        for pk in OutboxMessage.objects.filter(
            status=MessageStatus.QUEUED, next_attempt_at__lte=timezone.now(), attempts__gt=0
        ).values_list("pk", flat=True)[:1000]
    ]


def outbox_list(*, limit: int = 50) -> list[OutboxMessage]:
    """Return the latest ``limit`` messages of the outbox, newest first (the staff mail page)."""
    return list(OutboxMessage.objects.order_by("-created_at")[:limit])


def mail_purpose_list(*, lang: str = "en") -> list[tuple[str, str]]:
    """Return (id, label) of the consent purposes that are e-mails to the person (newsletter, promotions)."""
    policy = policy_active()
    shared = {pid for recipient in policy.recipients.values() for pid in recipient.purposes}
    return [
        (pid, purpose.label.get(lang))
        for pid, purpose in policy.purposes.items()
        if purpose.consent_required and "contact.email" in purpose.categories and pid not in shared
    ]


def mail_recipient(*, subject_id: Any) -> tuple[str, str] | None:
    """Return (address, language) for a consenting subject: an account's address or a confirmed subscriber's.

    The language is the one the person chose (``User.language``, ``Subscriber.lang``).
    """
    account = account_contact(subject_id=subject_id)
    if account is not None:
        if account.mail_stopped or not account.active:
            return None
        return (account.address, account.language) if account.address else None
    subscriber = Subscriber.objects.filter(subject_id=subject_id, confirmed_at__isnull=False).first()
    if subscriber is None or not subscriber.email:
        return None
    return str(subscriber.email), subscriber.lang


def mail_recipients(*, subject_ids: Iterable[Any]) -> dict[str, tuple[str, str]]:
    """Return ``mail_recipient`` for many subjects in a few reads, keyed by subject id (as text).

    Subjects ``mail_recipient`` would answer None for are absent. The bulk form for campaigns.
    """
    wanted = [str(sid) for sid in subject_ids]
    found: dict[str, tuple[str, str]] = {}
    accounts = account_contacts(subject_ids=wanted)
    for sid, account in accounts.items():
        if account.address and not account.mail_stopped and account.active:
            found[sid] = (account.address, account.language)
    others = [sid for sid in wanted if sid not in accounts]
    if others:
        subscribers = list(
            Subscriber.objects.filter(subject_id__in=others, confirmed_at__isnull=False).order_by("pk")
        )
        data_keys_load((s.subject_id for s in subscribers), "account")
        first: dict[str, Subscriber] = {}
        for subscriber in subscribers:  # the first one by pk, as ``.first()`` in mail_recipient
            first.setdefault(str(subscriber.subject_id), subscriber)
        for sid, subscriber in first.items():
            if subscriber.email:
                found[sid] = (str(subscriber.email), subscriber.lang)
    return found


def unsubscribe_token_read(*, token: str) -> tuple[str, str]:
    """Return the (subject id, purpose) an unsubscribe link names; ``messaging.bad_token`` (404) if forged."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return str(data["s"]), str(data["p"])
    except (signing.BadSignature, KeyError, TypeError):
        raise PacteError(
            _("This unsubscribe link is not valid."), error_codes.BAD_TOKEN, status=404
        ) from None
