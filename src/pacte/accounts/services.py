"""Writes of the accounts app: registration, rectification, deactivation."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable
from typing import Any

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.accounts import error_codes
from pacte.accounts.models import AccountKind, EmailIdentity, Organisation, User
from pacte.accounts.selectors import user_email
from pacte.core.errors import PacteError
from pacte.ledger.services import entry_append
from pacte.policy import selectors as policy_selectors
from pacte.policy import services as policy_services
from pacte.subjects.models import SubjectKind
from pacte.subjects.registry import value_plain
from pacte.subjects.services import subject_create
from pacte.vault.blind import blind_index_digest

PSEUDONYM_DOMAIN = "pseudonym.invalid"
EDITABLE_FIELDS = ("name", "phone", "postal_address", "language")


def email_pseudonym(email: str) -> str:
    """Return the pseudonym address that stands for ``email`` in allauth's tables."""
    if email.endswith("@" + PSEUDONYM_DOMAIN):
        return email
    return f"u-{blind_index_digest(value=email, kind='email')[:40]}@{PSEUDONYM_DOMAIN}"


def email_identity_ensure(*, subject: Any, email: str) -> EmailIdentity:
    """Record (encrypted) the real address behind its pseudonym, once."""
    pseudonym = email_pseudonym(email)
    identity = EmailIdentity.objects.filter(pseudonym=pseudonym).first()
    if identity is None:
        identity = EmailIdentity(subject=subject, pseudonym=pseudonym, email=email.strip())
        identity.full_clean()
        identity.save()
    return identity


@transaction.atomic
def email_identity_forget(*, pseudonym: str) -> bool:
    """Delete the real address behind a pseudonym no longer in use (after an address change)."""
    if not pseudonym or EmailAddress.objects.filter(email=pseudonym).exists():
        return False
    if User.objects.filter(email=pseudonym).exists():
        return False
    deleted, _rows = EmailIdentity.objects.filter(pseudonym=pseudonym).delete()
    return bool(deleted)


def language_choose(value: str | None) -> str:
    """Return ``value`` ("fr-be" → "fr") when the policy offers it, else the policy's first language."""
    offered = policy_selectors.policy_active().languages
    code = (value or "")[:2].lower()
    return code if code in offered else offered[0]


def ip_coarsen(ip: str | None) -> str:
    """Return the network of an address: 203.0.113.0 for 203.0.113.7, the /48 for IPv6."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return "0.0.0.0"  # noqa: S104 - a placeholder, never a bind address
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def age_on(birth_date: datetime.date, today: datetime.date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def age_check(*, birth_date: datetime.date | None) -> None:
    """Refuse a person under the policy's minimum age, before anything about them is stored."""
    minimum = policy_selectors.minimum_age()
    if birth_date is None or age_on(birth_date, timezone.localdate()) < minimum:
        raise PacteError(
            _(
                "We are sorry: our services are for people aged %(age)s or over, so we cannot create "
                "an account for you. Nothing you typed has been kept."
            )
            % {"age": minimum},
            error_codes.MINOR,
        )


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str | None,
    name: str,
    birth_date: datetime.date | None,
    kind: str = AccountKind.INDIVIDUAL,
    phone: str = "",
    postal_address: dict | None = None,
    organisation: dict | None = None,
    is_staff: bool = False,
    is_superuser: bool = False,
    source: str = "signup",
    password_hash: str | None = None,
    language: str = "",
) -> User:
    """Create a customer (or employer account) with every acceptance recorded in the ledger.

    Refuses a minor (nothing stored), an employer registration without the authority warranty, and an
    address already in use. Runs in one transaction: a refusal leaves no row and no ledger entry.
    ``language`` (the language of every mail) falls back to the policy's first language.
    """
    if source == "signup" and not is_staff:
        age_check(birth_date=birth_date)  # operator-created accounts (staff, demo data) have no age gate
    if kind == AccountKind.EMPLOYER and not (organisation and organisation.get("authority")):
        raise PacteError(
            _("Tick the box to confirm you have the authority to bind your employer to the terms of use."),
            error_codes.AUTHORITY,
        )
    pseudonym = email_pseudonym(email)
    if User.objects.filter(email=pseudonym).exists():
        raise PacteError(_("An account already uses this e-mail address."), error_codes.EMAIL_TAKEN)
    subject = subject_create(kind=SubjectKind.STAFF if is_staff else SubjectKind.CUSTOMER)
    user = User(
        subject=subject,
        email=pseudonym,
        name=name,
        phone=phone,
        postal_address=postal_address or None,
        birth_date=birth_date,
        kind=kind,
        is_staff=is_staff,
        is_superuser=is_superuser,
        language=language_choose(language),
    )
    if password_hash:
        user.password = password_hash  # demo data: one argon2id hash of the printed demo password
    elif password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    email_identity_ensure(subject=subject, email=email)
    if kind == AccountKind.EMPLOYER and organisation:
        org = Organisation(
            subject=subject,
            legal_name=organisation["legal_name"],
            registration_number=organisation.get("registration_number", ""),
            postal_address=organisation.get("postal_address") or None,
            administrator=user,
            authority_warranted_at=timezone.now(),
        )
        org.full_clean()
        org.save()
    actor = f"subject:{subject.pk}"
    version = policy_services.policy_version_record_active()
    entry_append(type="account.created", subject_id=subject.pk, actor=actor, payload={"kind": kind})
    terms = policy_selectors.terms_current(version=version)  # None version and sha when published elsewhere
    entry_append(
        type="terms.accepted",
        subject_id=subject.pk,
        actor=actor,
        payload={
            "terms_url": terms.url,
            "terms_version": terms.version,
            "terms_sha256": terms.sha256,
            "policy_version": version.number,
            "policy_sha256": version.sha256,
        },
    )
    entry_append(
        type="policy.accepted",
        subject_id=subject.pk,
        actor=actor,
        payload={"policy_version": version.number, "policy_sha256": version.sha256},
    )
    return user


def user_create(*, email: str, password: str | None = None, **fields: Any) -> User:
    """Create a user outside the sign-up form (createsuperuser, demo data), its address verified."""
    fields.setdefault("name", "")
    fields.setdefault("birth_date", None)
    user = user_register(email=email, password=password, source="operator", **fields)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def _fields_rectify(
    *,
    instance: User | Organisation,
    fields: tuple[str, ...],
    changes: dict[str, Any],
    actor: str,
    source: str,
    value_of: Callable[[str, Any], Any] = lambda field, value: value,
    clean_exclude: tuple[str, ...] = (),
) -> list[str]:
    """Apply the ``changes`` that differ to ``fields`` of ``instance``; one rectification entry per field.

    ``value_of(field, value)`` is what is stored for a changed value. Saves only the changed fields and
    returns their names (none: nothing saved, no entry). The caller holds the transaction.
    """
    changed = []
    for field in fields:
        if field in changes and changes[field] != getattr(instance, field):
            setattr(instance, field, value_of(field, changes[field]))
            changed.append(field)
    if not changed:
        return []
    instance.full_clean(exclude=list(clean_exclude))
    instance.save(update_fields=changed)
    for field in changed:
        entry_append(
            type="rectification",
            subject_id=instance.subject_id,
            actor=actor,
            payload={"field": f"{instance._meta.label}.{field}", "source": source},
        )
    return changed


@transaction.atomic
def user_rectify(*, user: User, changes: dict[str, Any], source: str = "portal") -> list[str]:
    """Change the customer's own details; one rectification ledger entry per changed field."""
    return _fields_rectify(
        instance=user,
        fields=EDITABLE_FIELDS,
        changes=changes,
        actor=f"subject:{user.subject_id}",
        source=source,
        clean_exclude=("password", "birth_date"),
    )


@transaction.atomic
def user_deactivate(*, user: User, password: str) -> User:
    """Deactivate the account: ends every session, stops every e-mail, records it in the ledger."""
    if not user.check_password(password):
        raise PacteError(_("This is not your current password."), error_codes.WRONG_PASSWORD)
    user.deactivated_at = timezone.now()
    user.mail_stopped = True
    user.session_generation += 1
    user.save(update_fields=["deactivated_at", "mail_stopped", "session_generation"])
    entry_append(
        type="account.deactivated",
        subject_id=user.subject_id,
        actor=f"subject:{user.subject_id}",
        payload={"reason": "customer request"},
    )
    return user


@transaction.atomic
def user_reactivate(*, user: User) -> User:
    """Reactivate an account deactivated less than 30 days ago (the sign-in proved it is theirs)."""
    user.deactivated_at = None
    user.mail_stopped = False
    user.save(update_fields=["deactivated_at", "mail_stopped"])
    entry_append(
        type="account.reactivated", subject_id=user.subject_id, actor=f"subject:{user.subject_id}", payload={}
    )
    return user


def sessions_end(*, request: Any, session_id: int | None = None, others: bool = False) -> int:
    """End one of the signed-in user's other sessions, or all of them but the current one."""
    sessions = UserSession.objects.filter(user_id=request.user.pk).exclude(
        session_key=request.session.session_key
    )
    if not others:
        sessions = sessions.filter(pk=session_id)
    ended = 0
    for session in sessions:
        session.end()
        ended += 1
    return ended


ORGANISATION_FIELDS = ("legal_name", "registration_number", "postal_address")


@transaction.atomic
def organisation_rectify(
    *, organisation: Organisation, user: User, changes: dict[str, Any], source: str = "portal"
) -> list[str]:
    """Change an employer's details (its administrator only); one rectification entry per field."""
    if organisation.administrator_id != user.pk:
        raise PacteError(
            _("Only the administrator of this account can change it."), error_codes.NOT_ADMINISTRATOR
        )
    return _fields_rectify(
        instance=organisation,
        fields=ORGANISATION_FIELDS,
        changes=changes,
        actor=f"subject:{user.subject_id}",
        source=source,
        # An emptied detail is stored blank ("" for text, no address at all for the postal address).
        value_of=lambda field, value: value or (None if field == "postal_address" else ""),
    )


USER_EXPORT_FIELDS = (
    "id",
    "email",
    "name",
    "phone",
    "postal_address",
    "birth_date",
    "kind",
    "language",
    "date_joined",
    "last_login",
    "deactivated_at",
)
SESSION_EXPORT_FIELDS = ("ip_network", "user_agent", "created_at", "last_seen_at")


def user_export(subject: Any) -> Any:
    """Yield the customer's account as the export shows it (real address, decrypted details)."""
    for user in User.objects.filter(subject=subject):
        yield {
            "id": str(user.pk),
            "email": user_email(user=user),
            "name": value_plain(user.name),
            "phone": value_plain(user.phone),
            "postal_address": value_plain(user.postal_address),
            "birth_date": value_plain(user.birth_date),
            "kind": user.kind,
            "language": user.language,
            "date_joined": value_plain(user.date_joined),
            "last_login": value_plain(user.last_login),
            "deactivated_at": value_plain(user.deactivated_at),
        }


def user_erase(subject: Any) -> int:
    """Anonymise the account row (kept for the ledger's references) and delete what allauth holds."""
    user = User.objects.filter(subject=subject).first()
    if user is None:
        return 0
    for session in UserSession.objects.filter(user=user):
        session.end()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    user.email = f"erased-{user.pk}@{PSEUDONYM_DOMAIN}"
    user.set_unusable_password()
    user.is_active = False
    user.mail_stopped = True
    user.deactivated_at = user.deactivated_at or timezone.now()
    user.session_generation += 1
    user.save(
        update_fields=[
            "email",
            "password",
            "is_active",
            "mail_stopped",
            "deactivated_at",
            "session_generation",
        ]
    )
    return 1


def user_sessions_export(subject: Any) -> Any:
    """Yield the account's live sessions (browser, network, times)."""
    for session in UserSession.objects.filter(user__subject=subject).iterator():
        yield {
            "ip_network": session.ip,
            "user_agent": session.user_agent,
            "created_at": value_plain(session.created_at),
            "last_seen_at": value_plain(session.last_seen_at),
        }


@transaction.atomic
def account_sessions_end(*, subject_id: Any) -> int:
    """End every session of the account of ``subject_id`` (all devices); return how many were ended."""
    user = User.objects.filter(subject_id=subject_id).first()
    if user is None:
        return 0
    sessions = list(UserSession.objects.filter(user=user))
    for session in sessions:
        session.end()
    User.objects.filter(pk=user.pk).update(session_generation=user.session_generation + 1)
    return len(sessions)


@transaction.atomic
def account_mail_stop(*, subject_id: Any) -> bool:
    """Stop every mail to the account of ``subject_id`` and close it to sign-in; return whether one exists."""
    return bool(User.objects.filter(subject_id=subject_id).update(mail_stopped=True, is_active=False))
