"""Reads of consent: the one-read check, the portal's list, and what the cookie banner asks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pacte.consent.models import ConsentState
from pacte.policy import selectors as policy_selectors


def consent_purpose_ids() -> list[str]:
    """Return the ids of every purpose of the active policy that needs consent."""
    return [pid for pid, _purpose in policy_selectors.purpose_list(consent_required=True)]


def consent_check(*, subject_id: uuid.UUID | str, purpose: str) -> bool:
    """Tell whether ``subject_id`` currently consents to ``purpose`` (silence is refusal): one indexed read.

    A subject whose processing is restricted (GDPR art. 18) consents to nothing until it is lifted.
    """
    return ConsentState.objects.filter(
        subject_id=subject_id, purpose=purpose, granted=True, subject__restricted_at__isnull=True
    ).exists()


def consent_subject_ids(*, purpose: str) -> Any:
    """Return a queryset of the subject ids that currently consent to ``purpose``."""
    return ConsentState.objects.filter(
        purpose=purpose, granted=True, subject__restricted_at__isnull=True
    ).values_list("subject_id", flat=True)


def consent_list(
    *, subject_id: uuid.UUID | str, lang: str = "en", banner: bool = True
) -> list[dict[str, Any]]:
    """Return every consent purpose with this subject's state (never asked = not granted).

    With ``banner=False``, leave out the purposes the cookie banner asks per browser.
    """
    states = {state.purpose: state for state in ConsentState.objects.filter(subject_id=subject_id)}
    in_banner = set() if banner else {row.id for row in banner_purposes(lang=lang)}
    rows = []
    for pid, purpose in policy_selectors.purpose_list(consent_required=True):
        if pid in in_banner:
            continue
        state = states.get(pid)
        rows.append(
            {
                "purpose": pid,
                "label": purpose.label.get(lang),
                "description": purpose.description.get(lang),
                "granted": bool(state and state.granted),
                "changed_at": state.changed_at if state else None,
                "source": state.source if state else None,
                "policy_version": state.policy_version if state else None,
                "entry_seq": state.entry_seq if state else None,
            }
        )
    return rows


@dataclass(frozen=True)
class BannerPurpose:
    """One choice of the cookie banner: a consent purpose with the cookies and widgets it governs."""

    id: str
    label: str
    description: str
    cookies: list[tuple[str, str, str]] = field(default_factory=list)  # (name, host, description)
    widgets: list[tuple[str, str, str]] = field(default_factory=list)  # (id, label, host)


def banner_purposes(*, lang: str = "en") -> list[BannerPurpose]:
    """Return the purposes the banner asks about: each one behind a non-essential cookie or a widget."""
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
    return list(rows.values())


def cookie_names_of(*, purposes: list[str]) -> list[str]:
    """Return the names of the cookies the policy declares for these purposes."""
    policy = policy_selectors.policy_active()
    return [name for name, cookie in policy.cookies.items() if cookie.purpose in purposes]


def subject_purpose_list(*, lang: str = "en") -> list[tuple[str, str]]:
    """Return (id, label) of the consent purposes asked of a person (not those of the cookie banner)."""
    in_banner = {row.id for row in banner_purposes(lang=lang)}
    return [
        (pid, purpose.label.get(lang))
        for pid, purpose in policy_selectors.purpose_list(consent_required=True)
        if pid not in in_banner
    ]


def consent_state_read(*, subject_id: uuid.UUID, purpose: str) -> dict[str, Any] | None:
    """Return the current state of one consent (the API's hot path): one indexed read in plain SQL.

    ``granted`` is already false for a subject whose processing is restricted. None when never asked.
    """
    import datetime

    from django.db import connection

    from pacte.subjects.models import Subject

    state_table = ConsentState._meta.db_table
    subject_table = Subject._meta.db_table
    key = Subject._meta.pk.get_db_prep_value(subject_id, connection)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.granted, c.changed_at, c.source, c.policy_version, c.entry_seq, s.restricted_at "  # noqa: S608
            f"FROM {state_table} c JOIN {subject_table} s ON s.id = c.subject_id "
            "WHERE c.subject_id = %s AND c.purpose = %s",
            [key, purpose],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    granted, changed_at, source, version, seq, restricted_at = row
    if isinstance(changed_at, str):  # SQLite hands back text, in UTC
        changed_at = datetime.datetime.fromisoformat(changed_at).replace(tzinfo=datetime.UTC)
    return {
        "purpose": purpose,
        "granted": bool(granted) and restricted_at is None,
        "changed_at": changed_at,
        "source": source,
        "policy_version": version,
        "receipt_seq": seq,
    }
