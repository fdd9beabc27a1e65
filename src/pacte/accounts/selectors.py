"""Reads of the accounts app."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from pacte.accounts.models import EmailIdentity, Organisation, User


def email_real(*, pseudonym: str) -> str | None:
    """Return the real address behind a pseudonym address (None when unknown or erased)."""
    identity = EmailIdentity.objects.filter(pseudonym=pseudonym).first()
    return str(identity.email) if identity and identity.email else None


def user_email(*, user: User) -> str | None:
    """Return the user's real primary address."""
    return email_real(pseudonym=user.email)


def organisation_list(*, administrator: User) -> list[Organisation]:
    """Return the organisations this user administers."""
    return list(Organisation.objects.filter(administrator=administrator))


def user_can_reactivate(*, user: User) -> bool:
    """Tell whether a deactivated account is still within its 30-day reactivation window."""
    from pacte.accounts.services import REACTIVATION_DAYS

    return user.deactivated_at is not None and timezone.now() - user.deactivated_at < timedelta(
        days=REACTIVATION_DAYS
    )
