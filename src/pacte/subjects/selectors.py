"""Reads on data subjects."""

from __future__ import annotations

import uuid

from pacte.subjects.models import Subject


def subject_get(*, subject_id: uuid.UUID | str) -> Subject | None:
    """Return the subject with ``subject_id``, or None."""
    return Subject.objects.filter(pk=subject_id).first()


def subject_is_restricted(*, subject_id: uuid.UUID | str) -> bool:
    """Tell whether processing of this subject is restricted (GDPR art. 18)."""
    return Subject.objects.filter(pk=subject_id, restricted_at__isnull=False).exists()
