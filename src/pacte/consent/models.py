"""Consent: the current state per (subject, purpose) and the anonymous proof of cookie choices.

The ledger holds every change (``consent.granted`` / ``consent.withdrawn`` entries); ``ConsentState``
is only a projection of it that answers "may we?" in one indexed read.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from pacte.policy.registry import not_personal


class Source(models.TextChoices):
    SIGNUP = "signup", _("Sign-up form")
    PORTAL = "portal", _("My account")
    BANNER = "banner", _("Cookie banner")
    EMAIL_LINK = "email_link", _("Link in an e-mail")
    SUBSCRIBE_FORM = "subscribe_form", _("Subscription form (confirmed by e-mail)")
    API = "api", _("API")
    STAFF = "staff", _("Staff, on the person's written request")


class ConsentState(models.Model):
    subject = models.ForeignKey("subjects.Subject", on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=64)
    granted = models.BooleanField()
    policy_version = models.PositiveIntegerField()
    source = models.CharField(max_length=16, choices=Source.choices)
    changed_at = models.DateTimeField()
    entry_seq = models.BigIntegerField(help_text=_("Ledger entry of the last change"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [models.UniqueConstraint(fields=["subject", "purpose"], name="consent_one_per_purpose")]

    def __str__(self) -> str:
        return f"{self.purpose}: {'granted' if self.granted else 'withdrawn'}"


class CookieChoice(models.Model):
    """Anonymous proof of one banner choice: a random id kept in the browser's cookie, never an IP."""

    consent_id = not_personal(models.UUIDField(default=uuid.uuid4, db_index=True))
    policy_version = models.PositiveIntegerField()
    choices = not_personal(models.JSONField(default=dict))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cookie choice")
        verbose_name_plural = _("cookie choices")

    def __str__(self) -> str:
        return f"{self.consent_id} v{self.policy_version}"
