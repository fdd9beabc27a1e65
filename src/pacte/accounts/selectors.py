"""Reads of the accounts app."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.accounts.models import EmailIdentity, Organisation, User
from pacte.vault.crypto import data_keys_load

# A deactivated account may be reactivated by signing in within this many days.
REACTIVATION_DAYS = 30


def email_real(*, pseudonym: str) -> str | None:
    """Return the real address behind a pseudonym address (None when unknown or erased)."""
    identity = EmailIdentity.objects.filter(pseudonym=pseudonym).first()
    return str(identity.email) if identity and identity.email else None


def user_email(*, user: User) -> str | None:
    """Return the user's real primary address."""
    return email_real(pseudonym=user.email)


@dataclass(frozen=True)
class AccountContact:
    """How to write to a subject's account: its real address, language, and whether mail may go out."""

    address: str | None
    language: str
    mail_stopped: bool
    active: bool


def account_contact(*, subject_id: Any) -> AccountContact | None:
    """Return how to write to the account of ``subject_id``, or None when the subject has no account.

    The one place that finds a subject's address (messaging and rights both ask here).
    """
    user = User.objects.filter(subject_id=subject_id).first()
    if user is None:
        return None
    return AccountContact(
        address=user_email(user=user),
        language=user.language,
        mail_stopped=user.mail_stopped,
        active=user.is_active,
    )


def account_mail_stopped(*, subject_id: Any) -> bool:
    """Tell whether the account of ``subject_id`` stopped all mail (deactivated or being erased)."""
    return User.objects.filter(subject_id=subject_id, mail_stopped=True).exists()


def account_contacts(*, subject_ids: Iterable[Any]) -> dict[str, AccountContact]:
    """Return ``account_contact`` for many subjects in two reads, keyed by subject id (as text).

    Subjects without an account are absent. The bulk form for campaigns (same rules, same values).
    """
    users = list(
        User.objects.filter(subject_id__in=list(subject_ids)).only(
            "subject_id", "email", "language", "mail_stopped", "is_active"
        )
    )
    if not users:
        return {}
    identities = list(EmailIdentity.objects.filter(pseudonym__in=[user.email for user in users]))
    data_keys_load((identity.subject_id for identity in identities), "account")
    real = {identity.pseudonym: identity.email for identity in identities}
    return {
        str(user.subject_id): AccountContact(
            address=str(real[user.email]) if real.get(user.email) else None,
            language=user.language,
            mail_stopped=user.mail_stopped,
            active=user.is_active,
        )
        for user in users
    }


def account_mail_stopped_ids(*, subject_ids: Iterable[Any]) -> set[str]:
    """Return which of ``subject_ids`` (as text) have an account that stopped all mail: one read."""
    return {
        str(sid)
        for sid in User.objects.filter(subject_id__in=list(subject_ids), mail_stopped=True).values_list(
            "subject_id", flat=True
        )
    }


def subject_language(*, subject_id: Any) -> str | None:
    """Return the language of every mail to this subject's account ("fr", "en"), or None without one."""
    return User.objects.filter(subject_id=subject_id).values_list("language", flat=True).first()


def organisation_list(*, administrator: User) -> list[Organisation]:
    """Return the organisations this user administers."""
    return list(Organisation.objects.filter(administrator=administrator))


def user_can_reactivate(*, user: User) -> bool:
    """Tell whether a deactivated account is still within its 30-day reactivation window."""
    return user.deactivated_at is not None and timezone.now() - user.deactivated_at < timedelta(
        days=REACTIVATION_DAYS
    )


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def browser_describe(user_agent: str) -> str:
    """Return a short description of a browser ("Firefox on Linux") from its User-Agent header."""
    browser = ""
    for token, name in _BROWSERS:
        match = re.search(re.escape(token) + r"(\d+)", user_agent)
        if match:
            browser = f"{name} {match.group(1)}"
            break
    else:
        if "Safari/" in user_agent and "Version/" in user_agent:
            browser = "Safari"
    system = next((name for token, name in _SYSTEMS if token in user_agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")


def place_describe(ip: str) -> str:
    """Return where a session comes from, as precisely as Pacte keeps it (the network, no more)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return _("Unknown")
    if address.is_loopback:
        return _("This computer (the server itself)")
    if address.is_private:
        return _("A local network (%(network)s)") % {"network": ip}
    return _("Network %(network)s") % {"network": ip}


def session_list(*, request: Any) -> list[dict[str, Any]]:
    """Return the signed-in user's live sessions, the current one first, with what the portal shows.

    One indexed query: the user's tracked sessions whose session row is still alive. allauth's
    ``purge_and_list`` opened every session (three queries each) on each display; the rows it would
    purge are sessions ended elsewhere (their session row is gone: filtered here) or made stale by a
    password change (``receivers.password_changed`` ends those at once), and allauth still purges at
    every sign-in.
    """
    # EXISTS per row (the user's few sessions, each a primary-key look-up), not IN over every live session
    # of every customer, which SQLite reads whole on each view.
    live = Session.objects.filter(session_key=OuterRef("session_key"), expire_date__gt=timezone.now())
    sessions = UserSession.objects.filter(Exists(live), user_id=request.user.pk).values_list(
        "id", "session_key", "user_agent", "ip", "created_at", "last_seen_at"
    )
    current = request.session.session_key
    rows = [
        {
            "id": pk,
            "current": session_key == current,
            "browser": browser_describe(user_agent),
            "place": place_describe(ip),
            "created_at": created_at,
            "last_seen_at": last_seen_at,
        }
        for pk, session_key, user_agent, ip, created_at, last_seen_at in sessions
    ]
    rows.sort(key=lambda row: (not row["current"], -row["last_seen_at"].timestamp()))
    return rows


def account_country(*, subject_id: Any) -> str | None:
    """Return the two-letter country of the account's postal address (upper case), or None without one."""
    user = User.objects.filter(subject_id=subject_id).only("id", "subject_id", "postal_address").first()
    if user is None or not user.postal_address:
        return None
    country = str(dict(user.postal_address).get("country", "")).strip().upper()
    return country if len(country) == 2 and country.isalpha() else None


def organisation_registration_number(*, administrator_subject_id: Any) -> str:
    """Return the registration number (SIREN, SIRET or VAT) of the organisation this subject administers.

    Empty when the account holds no organisation or gave no number. Billing puts it on invoices.
    """
    organisation = (
        Organisation.objects.filter(administrator__subject_id=administrator_subject_id)
        .order_by("created_at")
        .first()
    )
    return str(organisation.registration_number or "") if organisation is not None else ""
