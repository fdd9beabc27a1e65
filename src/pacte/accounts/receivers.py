"""Receivers for django-allauth's signals (allauth is a library, not a Pacte app: no cross-app signals)."""

from __future__ import annotations

from typing import Any

from allauth.account.internal.flows.login import record_authentication
from allauth.account.signals import email_changed as allauth_email_changed
from allauth.account.signals import password_changed as allauth_password_changed
from allauth.account.signals import password_reset as allauth_password_reset
from allauth.account.signals import password_set as allauth_password_set
from allauth.mfa.signals import authenticator_added
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.db.models.signals import pre_save
from django.utils import timezone

from pacte.accounts.services import ip_coarsen
from pacte.ledger.services import entry_append


def email_changed(
    sender: Any, request: Any, user: Any, from_email_address: Any, to_email_address: Any, **kw: Any
) -> None:
    """A verified new address replaced the old one: record the rectification in the ledger."""
    if from_email_address is None or from_email_address.email == to_email_address.email:
        return  # the first address being confirmed is not a change
    with transaction.atomic():
        entry_append(
            type="rectification",
            subject_id=user.subject_id,
            actor=f"subject:{user.subject_id}",
            payload={"field": "accounts.User.email", "source": "portal"},
        )


def user_session_coarsen(sender: Any, instance: Any, **kw: Any) -> None:
    """Store only the network of a session's address (a /24 or /48), never the full address."""
    instance.ip = ip_coarsen(instance.ip)


def second_factor_added(sender: Any, request: Any, user: Any, authenticator: Any, **kw: Any) -> None:
    """Count setting up a second factor as having used it in this session.

    Staff sessions must have used a second factor (StaffMFARequiredMiddleware); the person who just
    proved they hold the authenticator by typing its code keeps their session.
    """
    if request is not None and getattr(request, "user", None) == user:
        record_authentication(request, user, "mfa", type=authenticator.type, enrolled=True)


def user_logged_in(sender: Any, request: Any, user: Any, **kw: Any) -> None:
    """Record the new session, and forget in one statement the user's sessions that have ended.

    allauth's own receiver (``usersessions.signals.on_user_logged_in``) calls ``purge_and_list``, which opens
    every session the user holds (an existence check, the session and its user: three queries each) on each
    sign-in; a customer with five devices paid fifteen queries per login (issue 14). The rows it would keep
    are exactly those whose session row is alive: sessions a password change made stale are ended at once
    by ``password_changed`` below.
    """
    live = Session.objects.filter(session_key=OuterRef("session_key"), expire_date__gt=timezone.now())
    with transaction.atomic():  # one commit for both writes
        UserSession.objects.filter(user_id=user.pk).exclude(Exists(live)).delete()  # a look-up per row held
        UserSession.objects.create_from_request(request)


def password_changed(sender: Any, request: Any, user: Any, **kw: Any) -> None:
    """A new password ends every other session of the account (the one that changed it stays).

    Django already refuses those sessions (their password hash no longer matches); ending them removes
    their rows, so "Where you are signed in" lists only the sessions that still work.
    """
    current = getattr(getattr(request, "session", None), "session_key", None)
    for session in UserSession.objects.filter(user_id=user.pk).exclude(session_key=current or ""):
        session.end()


def connect() -> None:
    for signal, name in (
        (allauth_password_changed, "changed"),
        (allauth_password_reset, "reset"),
        (allauth_password_set, "set"),
    ):
        signal.connect(password_changed, dispatch_uid=f"pacte.accounts.password_{name}")
    allauth_email_changed.connect(email_changed, dispatch_uid="pacte.accounts.email_changed")
    authenticator_added.connect(second_factor_added, dispatch_uid="pacte.accounts.second_factor_added")
    pre_save.connect(user_session_coarsen, sender=UserSession, dispatch_uid="pacte.accounts.session_ip")
