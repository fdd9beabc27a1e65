"""Writes on data subjects."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from pacte.subjects.models import Subject, SubjectKind


@transaction.atomic
def subject_create(*, kind: str = SubjectKind.CUSTOMER) -> Subject:
    """Create a subject of ``kind`` and return it (no personal data is stored on it)."""
    subject = Subject(kind=kind)
    subject.full_clean()
    subject.save()
    return subject


@transaction.atomic
def subject_mark_erased(*, subject: Subject) -> Subject:
    """Record that ``subject`` has been erased (idempotent: the first time is kept)."""
    if subject.erased_at is None:
        subject.erased_at = timezone.now()
        subject.save(update_fields=["erased_at"])
    return subject


@transaction.atomic
def subject_restrict(*, subject_id: Any, restricted: bool) -> None:
    """Set or lift the restriction of processing (GDPR art. 18): a restricted subject consents to nothing."""
    Subject.objects.filter(pk=subject_id).update(restricted_at=timezone.now() if restricted else None)
