"""Writes of consent: every change is a ledger entry, in the same transaction as its projection."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.consent import error_codes
from pacte.consent.models import ConsentState, CookieChoice, Source
from pacte.core.errors import PacteError
from pacte.ledger.selectors import entry_seqs, receipt_build
from pacte.ledger.services import entry_append
from pacte.policy import selectors as policy_selectors
from pacte.policy import services as policy_services
from pacte.sharing.webhooks import webhook_notify_consent_withdrawn
from pacte.subjects.models import Subject


def purpose_check(purpose: str) -> None:
    """Refuse a purpose the active policy does not declare, or one that does not rest on consent."""
    policy = policy_selectors.policy_active()
    if purpose not in policy.purposes:
        raise PacteError(
            _("The privacy policy declares no purpose called “%(purpose)s”.") % {"purpose": purpose[:64]},
            error_codes.UNKNOWN_PURPOSE,
            status=404,
        )
    if not policy.purposes[purpose].consent_required:
        raise PacteError(
            _("The purpose “%(purpose)s” does not rest on consent.") % {"purpose": purpose},
            error_codes.NOT_A_CONSENT_PURPOSE,
            status=422,
        )


@transaction.atomic
def consent_set(
    *,
    subject_id: uuid.UUID | str,
    purpose: str,
    granted: bool,
    source: str,
    actor: str | None = None,
) -> ConsentState | None:
    """Grant or withdraw ``purpose`` for a subject; record the change in the ledger.

    Setting the state it already has changes nothing and records nothing (returns the state).
    Refuses an unknown purpose, a purpose that is not consent-based, an unknown or erased subject.
    """
    purpose_check(purpose)
    if source not in Source.values:
        raise PacteError(_("Unknown consent source."), error_codes.BAD_SOURCE, status=422)
    subject = Subject.objects.filter(pk=subject_id).first()
    if subject is None:
        raise PacteError(_("There is no such data subject."), error_codes.UNKNOWN_SUBJECT, status=404)
    if subject.erased_at is not None:
        raise PacteError(_("This person's data has been erased."), error_codes.ERASED_SUBJECT, status=410)
    state = ConsentState.objects.select_for_update().filter(subject=subject, purpose=purpose).first()
    if state is not None and state.granted == granted:
        return state
    if state is None and not granted:
        return None  # never granted: silence already means refusal, there is nothing to withdraw
    version = policy_services.policy_version_record_active()
    entry = entry_append(
        type="consent.granted" if granted else "consent.withdrawn",
        subject_id=subject.pk,
        actor=actor or f"subject:{subject.pk}",
        payload={"purpose": purpose, "policy_version": version.number, "source": source},
    )
    now = timezone.now()
    if state is None:
        state = ConsentState(subject=subject, purpose=purpose)
    state.granted = granted
    state.policy_version = version.number
    state.source = source
    state.changed_at = now
    state.entry_seq = entry.seq
    state.save()
    if not granted:  # tell the recipients that got data under this consent (operator webhooks)
        webhook_notify_consent_withdrawn(subject_id=subject.pk, purpose=purpose)
    return state


@transaction.atomic
def consents_withdraw_all(*, subject_id: uuid.UUID | str, source: str, actor: str | None = None) -> int:
    """Withdraw every consent the subject has granted; return how many were withdrawn."""
    purposes = list(
        ConsentState.objects.filter(subject_id=subject_id, granted=True).values_list("purpose", flat=True)
    )
    for purpose in purposes:
        consent_set(subject_id=subject_id, purpose=purpose, granted=False, source=source, actor=actor)
    return len(purposes)


@transaction.atomic
def cookie_choice_record(*, consent_id: uuid.UUID | None, choices: dict[str, bool]) -> CookieChoice:
    """Keep the anonymous proof of one banner choice (random id, policy version, choices, time)."""
    version = policy_services.policy_version_record_active()
    record = CookieChoice(
        consent_id=consent_id or uuid.uuid4(),
        policy_version=version.number,
        choices={key: bool(value) for key, value in sorted(choices.items())},
    )
    record.save()
    return record


def consent_receipts(*, subject_id: uuid.UUID | str) -> dict[str, Any]:
    """Return a bundle of ledger receipts, one per consent entry of this subject (offline-verifiable)."""
    seqs = entry_seqs(subject_id=subject_id, types=["consent.granted", "consent.withdrawn"])
    return {
        "format": "pacte-consent-receipts-v1",
        "subject_id": str(subject_id),
        "receipts": [receipt_build(seq=seq) for seq in seqs],
    }
