"""Reads of sharing for requests from authorities: the staff queue, the gag, the transparency counts."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from pacte.core.errors import PacteError
from pacte.sharing import app_settings, error_codes
from pacte.sharing.models import AuthorityKind, AuthorityRequest, AuthorityRequestSubject, AuthorityState


def authority_request_list() -> QuerySet[AuthorityRequest]:
    """Return every authority request, newest received first, with the number of people concerned."""
    return AuthorityRequest.objects.all().prefetch_related("subjects")


def access_authority_request(*, request_id: uuid.UUID | str) -> AuthorityRequest:
    """Return the authority request ``request_id``, or raise a 404 ``PacteError``."""
    try:
        return AuthorityRequest.objects.prefetch_related("subjects").get(pk=uuid.UUID(str(request_id)))
    except (ValueError, AuthorityRequest.DoesNotExist):
        raise PacteError(
            _("There is no such authority request."), error_codes.AUTHORITY_NOT_FOUND, status=404
        ) from None


def disclosures_withheld(*, subject_id: uuid.UUID | str) -> set[int]:
    """Return the ledger seqs of this person's disclosures they must not be shown yet (a gag holds)."""
    rows = AuthorityRequestSubject.objects.filter(
        subject_id=subject_id,
        disclosure_seq__isnull=False,
        request__gag=True,
        request__gag_lifted_at__isnull=True,
    )
    return {seq for seq in rows.values_list("disclosure_seq", flat=True) if seq is not None}


@dataclass(frozen=True)
class Shown:
    """A count as the public reads it: the number, or "fewer than N" below the threshold."""

    value: int
    threshold: int

    @property
    def below(self) -> bool:
        # A threshold of 1 hides nothing: "fewer than 1" would only be a way of writing 0.
        return self.threshold > 1 and self.value < self.threshold

    def __str__(self) -> str:
        if self.below:
            return _("fewer than %(threshold)d") % {"threshold": self.threshold}
        return str(self.value)


@dataclass(frozen=True)
class TransparencyRow:
    """Authority requests of one kind received in one half-year, and how they were answered."""

    year: int
    half: int  # 1: January to June, 2: July to December
    kind: str
    kind_label: str
    received: Shown
    disclosed: Shown
    rejected: Shown

    @property
    def period(self) -> str:
        if self.half == 1:
            return _("%(year)d, January to June") % {"year": self.year}
        return _("%(year)d, July to December") % {"year": self.year}


def authority_transparency(*, threshold: int | None = None) -> list[TransparencyRow]:
    """Count authority requests per half-year (by date received) and kind, newest half-year first.

    Only (half-year, kind) pairs with at least one request are listed; every count below ``threshold``
    (default: ``PACTE_TRANSPARENCY_THRESHOLD``) is shown as "fewer than N", never as its number.
    """
    limit = max(1, threshold if threshold is not None else app_settings.transparency_threshold())
    received: Counter[tuple[int, int, str]] = Counter()
    disclosed: Counter[tuple[int, int, str]] = Counter()
    rejected: Counter[tuple[int, int, str]] = Counter()
    for day, kind, state in AuthorityRequest.objects.values_list("received_on", "authority_kind", "state"):
        key = (day.year, 1 if day.month <= 6 else 2, kind)
        received[key] += 1
        if state == AuthorityState.DISCLOSED:
            disclosed[key] += 1
        elif state == AuthorityState.REJECTED:
            rejected[key] += 1
    order = list(AuthorityKind.values)

    def newest_first(key: tuple[int, int, str]) -> tuple[int, int, int]:
        year, half, kind = key
        return (-year, -half, order.index(kind) if kind in order else len(order))

    rows = []
    for key in sorted(received, key=newest_first):
        year, half, kind = key
        rows.append(
            TransparencyRow(
                year=year,
                half=half,
                kind=kind,
                kind_label=str(AuthorityKind(kind).label) if kind in order else kind,
                received=Shown(received[key], limit),
                disclosed=Shown(disclosed[key], limit),
                rejected=Shown(rejected[key], limit),
            )
        )
    return rows
