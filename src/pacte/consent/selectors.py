"""Reads of consent: the one read model (``ConsentView``), the check, and what the cookie banner asks."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import FilteredRelation, Q

from pacte.consent.models import ConsentState
from pacte.policy import selectors as policy_selectors
from pacte.subjects.models import Subject
from pacte.subjects.selectors import subject_is_restricted


def consent_purpose_ids() -> list[str]:
    """Return the ids of every purpose of the active policy that needs consent."""
    return [pid for pid, _purpose in policy_selectors.purpose_list(consent_required=True)]


@dataclass(frozen=True)
class ConsentView:
    """The state of one consent purpose of one subject, as every reader shows it (API, portal, export).

    ``granted`` answers "may we?": false when never asked, withdrawn, or while the subject's processing is
    restricted (GDPR art. 18, ``restricted``). ``chosen`` is the person's last recorded choice, kept
    through a restriction and in force again once it is lifted.
    """

    purpose: str
    granted: bool
    restricted: bool
    chosen: bool
    changed_at: datetime.datetime | None
    source: str | None
    policy_version: int | None
    entry_seq: int | None
    label: str = ""
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the view as JSON-ready values (the export's ``consents`` rows)."""
        row = asdict(self)
        row["changed_at"] = self.changed_at.isoformat() if self.changed_at else None
        return row


def _view(
    *,
    purpose: str,
    restricted: bool,
    state: tuple[Any, ...] | None,
    lang: str,
) -> ConsentView:
    granted, changed_at, source, version, seq = state if state and state[0] is not None else (None,) * 5
    texts = policy_selectors.policy_active().purposes.get(purpose)
    return ConsentView(
        purpose=purpose,
        granted=bool(granted) and not restricted,
        restricted=restricted,
        chosen=bool(granted),
        changed_at=changed_at,
        source=source,
        policy_version=version,
        entry_seq=seq,
        label=texts.label.get(lang) if texts else "",
        description=texts.description.get(lang) if texts else "",
    )


_STATE_FIELDS = ("granted", "changed_at", "source", "policy_version", "entry_seq")


def consent_get(*, subject_id: uuid.UUID | str, purpose: str, lang: str = "en") -> ConsentView | None:
    """Return the state of one purpose for a subject in one indexed read; None when there is no such subject.

    Never asked reads as not granted; a restricted subject consents to nothing (``restricted=True``).
    """
    row = (
        Subject.objects.filter(pk=subject_id)
        .annotate(state=FilteredRelation("consents", condition=Q(consents__purpose=purpose)))
        .values_list("restricted_at", *(f"state__{name}" for name in _STATE_FIELDS))
        .first()
    )
    if row is None:
        return None
    return _view(purpose=purpose, restricted=row[0] is not None, state=tuple(row[1:]), lang=lang)


def consent_list(*, subject_id: uuid.UUID | str, lang: str = "en", banner: bool = True) -> list[ConsentView]:
    """Return every consent purpose of the policy with this subject's state (never asked = not granted).

    With ``banner=False``, leave out the purposes the cookie banner asks per browser. A restricted
    subject's purposes all read ``granted=False, restricted=True``.
    """
    restricted = subject_is_restricted(subject_id=subject_id)
    states = {
        row[0]: tuple(row[1:])
        for row in ConsentState.objects.filter(subject_id=subject_id).values_list("purpose", *_STATE_FIELDS)
    }
    in_banner = set() if banner else {row.id for row in banner_purposes(lang=lang)}
    return [
        _view(purpose=pid, restricted=restricted, state=states.get(pid), lang=lang)
        for pid in consent_purpose_ids()
        if pid not in in_banner
    ]


def consent_check(*, subject_id: uuid.UUID | str, purpose: str) -> bool:
    """Tell whether ``subject_id`` currently consents to ``purpose`` (silence is refusal): one indexed read.

    The ``granted`` of ``consent_get``: a restricted subject consents to nothing until it is lifted.
    """
    view = consent_get(subject_id=subject_id, purpose=purpose)
    return view is not None and view.granted


def consent_subject_ids(*, purpose: str) -> Any:
    """Return a queryset of the subject ids that currently consent to ``purpose`` (restricted ones left out).

    The bulk form of ``consent_check`` (same rule), for campaigns.
    """
    return ConsentState.objects.filter(
        purpose=purpose, granted=True, subject__restricted_at__isnull=True
    ).values_list("subject_id", flat=True)


@dataclass(frozen=True)
class BannerPurpose:
    """One choice of the cookie banner: a consent purpose with the cookies and widgets it governs."""

    id: str
    label: str
    description: str
    cookies: list[tuple[str, str, str]] = field(default_factory=list)  # (name, host, description)
    widgets: list[tuple[str, str, str]] = field(default_factory=list)  # (id, label, host)


def banner_purposes(*, lang: str = "en") -> list[BannerPurpose]:
    """Return the purposes the banner asks about: each one behind a non-essential cookie or a widget, and
    visit statistics when the policy makes them a consent purpose."""
    policy = policy_selectors.policy_active()
    rows: dict[str, BannerPurpose] = {}
    for name, cookie in policy.cookies.items():
        if cookie.category == "strictly_necessary":
            continue
        purpose = policy.purposes[cookie.purpose]
        row = rows.setdefault(
            cookie.purpose,
            BannerPurpose(cookie.purpose, purpose.label.get(lang), purpose.description.get(lang)),
        )
        row.cookies.append((name, cookie.host or "", cookie.description.get(lang)))
    for wid, widget in policy.widgets.items():
        purpose = policy.purposes[widget.purpose]
        row = rows.setdefault(
            widget.purpose,
            BannerPurpose(widget.purpose, purpose.label.get(lang), purpose.description.get(lang)),
        )
        row.widgets.append((wid, widget.label.get(lang), widget.host))
    # Visit statistics that rest on consent ([telemetry] purpose) set no cookie of their own, yet nothing
    # may be counted before a yes: the banner asks for them too.
    stats_id = policy.telemetry.purpose
    stats = policy.purposes.get(stats_id) if stats_id else None
    if stats_id and stats is not None and stats.consent_required:
        rows.setdefault(stats_id, BannerPurpose(stats_id, stats.label.get(lang), stats.description.get(lang)))
    return list(rows.values())


def cookie_names_of(*, purposes: list[str]) -> list[str]:
    """Return the names of the cookies the policy declares for these purposes."""
    policy = policy_selectors.policy_active()
    return [name for name, cookie in policy.cookies.items() if cookie.purpose in purposes]


def cookie_names_declared() -> set[str]:
    """Return the name of every cookie the active policy declares (``[cookies.<name>]``)."""
    return set(policy_selectors.policy_active().cookies)


def subject_purpose_list(*, lang: str = "en") -> list[tuple[str, str]]:
    """Return (id, label) of the consent purposes asked of a person (not those of the cookie banner)."""
    in_banner = {row.id for row in banner_purposes(lang=lang)}
    return [
        (pid, purpose.label.get(lang))
        for pid, purpose in policy_selectors.purpose_list(consent_required=True)
        if pid not in in_banner
    ]
