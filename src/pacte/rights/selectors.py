"""Reads of the rights app: a person's requests, the open and overdue queue."""

from __future__ import annotations

import uuid

from pacte.rights import models as rights_models
from pacte.rights.models import OPEN, RightsRequest, Status
from pacte.subjects.models import Subject


def request_get(*, subject: Subject, request_id: uuid.UUID | str, kind: str) -> RightsRequest | None:
    """Return ``subject``'s request ``request_id`` of ``kind``, or None (never another person's)."""
    return RightsRequest.objects.filter(pk=request_id, subject=subject, kind=kind).first()


def request_latest(*, subject: Subject, kind: str) -> RightsRequest | None:
    """Return the last request of ``kind`` that ``subject`` made, or None."""
    return RightsRequest.objects.filter(subject=subject, kind=kind).order_by("-received_at").first()


def request_unfinished(*, subject: Subject, kind: str) -> RightsRequest | None:
    """Return ``subject``'s oldest request of ``kind`` that is not done yet (to resume it), or None."""
    return (
        RightsRequest.objects.filter(subject=subject, kind=kind)
        .exclude(status=Status.DONE)
        .order_by("received_at")
        .first()
    )


def request_list_open(*, overdue: bool = False) -> list[RightsRequest]:
    """Return the requests not answered yet, by due date; only those past their deadline if ``overdue``."""
    rows = RightsRequest.objects.filter(status__in=OPEN).order_by("due_at")
    now = rights_models.now()
    return [row for row in rows if not overdue or row.deadline < now]
