"""Reads on data subjects."""

from __future__ import annotations

import uuid

from pacte.subjects.models import Subject


def subject_get(*, subject_id: uuid.UUID | str) -> Subject | None:
    """Return the subject with ``subject_id``, or None."""
    return Subject.objects.filter(pk=subject_id).first()
