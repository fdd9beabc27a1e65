"""Customers and organisations. Every personal value is a vault field under the person's subject.

django-allauth stores e-mail addresses in plaintext columns (``User.email``, ``EmailAddress.email``).
Pacte never gives it a real address: it gives it a **pseudonym address** derived from the keyed blind
index of the real one (``u-<hmac>@pseudonym.invalid``), and keeps the real address encrypted in
``EmailIdentity``. See docs/adr/0001-email-in-allauth.md.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from pacte.policy.registry import not_personal
from pacte.vault.fields import (
    EncryptedDateField,
    EncryptedEmailField,
    EncryptedPhoneField,
    EncryptedPostalAddressField,
    EncryptedTextField,
)


class AccountKind(models.TextChoices):
    INDIVIDUAL = "individual", _("For myself")
    EMPLOYER = "employer", _("For my employer")


class Language(models.TextChoices):
    """The languages Pacte speaks; the policy's ``languages`` says which of them a site offers."""

    FR = "fr", "Français"
    EN = "en", "English"


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **fields: object) -> User:
        # Not at the top: services imports these models (a real cycle), and Django asks the manager here.
        from pacte.accounts.services import user_create

        return user_create(email=email, password=password, **fields)  # type: ignore[arg-type]

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> User:
        return self.create_user(email, password, is_staff=True, is_superuser=True, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.OneToOneField("subjects.Subject", on_delete=models.PROTECT, related_name="user")
    # The pseudonym address allauth works with (never a real address; see the module docstring).
    email = not_personal(models.EmailField(_("sign-in identifier"), unique=True))
    name = EncryptedTextField(_("name"), category="identity.name", blank=True)
    phone = EncryptedPhoneField(_("phone"), category="contact.phone", blank=True)
    postal_address = EncryptedPostalAddressField(_("postal address"), category="contact.postal", blank=True)
    birth_date = EncryptedDateField(_("date of birth"), category="identity.birth_date", blank=True)
    kind = models.CharField(max_length=16, choices=AccountKind.choices, default=AccountKind.INDIVIDUAL)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    mail_stopped = models.BooleanField(default=False)
    # The language of every mail to this person (set at sign-up from the page, changed in My account).
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.FR)
    # Bumped to end every session at once (deactivation): part of the session auth hash.
    session_generation = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return f"user:{self.pk}"

    def get_session_auth_hash(self) -> str:
        return salted_hmac(
            "pacte.accounts.User.get_session_auth_hash",
            f"{self.password}|{self.session_generation}",
            algorithm="sha256",
        ).hexdigest()


class EmailIdentity(models.Model):
    """The real address behind a pseudonym address, encrypted under its subject's key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="email_identities")
    pseudonym = not_personal(models.EmailField(unique=True))
    email = EncryptedEmailField(category="contact.email")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.pseudonym


class Organisation(models.Model):
    """An employer that holds an account; its details are encrypted under the registrant's subject.

    Decision: the organisation's details are the registrant's disclosure and are erased with the
    registrant's data; an organisation gets its own subject only when it is shared by several contacts
    (a later issue).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="organisations")
    legal_name = EncryptedTextField(_("legal name"), category="organisation.details")
    registration_number = EncryptedTextField(
        _("registration number"), category="organisation.details", blank=True
    )
    postal_address = EncryptedPostalAddressField(
        _("postal address"), category="organisation.details", blank=True
    )
    administrator = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="administered_organisations"
    )
    authority_warranted_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"organisation:{self.pk}"
