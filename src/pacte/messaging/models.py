"""The mail outbox, newsletter subscribers without accounts, and campaigns.

A message is a row written in the same transaction as the change that causes it; its sending task is
enqueued in that transaction too (django-tasks' database backend), so a message exists, and is sent, if
and only if the change committed. Recipient, subject line and body are encrypted under the recipient's
keys: erasing a person erases their mail too.

A message to an address Pacte does not keep (allauth's "no account with this address") is *ephemeral*:
it is queued like any other, under a throwaway subject of its own, and once it is sent (or has failed its
last retry) the row, the subject and that subject's keys are destroyed, so no trace of the address stays.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pacte.policy.registry import not_personal
from pacte.vault.fields import EncryptedEmailField, EncryptedTextField


class MessageKind(models.TextChoices):
    TRANSACTIONAL = "transactional", _("About the account or a request")
    MARKETING = "marketing", _("Newsletter or promotion (consent re-checked when sent)")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Not sent (no consent any more, or mail stopped)")
    FAILED = "failed", _("Failed after every retry")


class OutboxMessage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.CASCADE, related_name="messages")
    to = EncryptedEmailField(_("to"), category="contact.email")
    subject_line = EncryptedTextField(_("subject"), category="contact.email")
    body = EncryptedTextField(_("body"), category="contact.email")
    html = EncryptedTextField(_("HTML body"), category="contact.email", blank=True)
    kind = models.CharField(max_length=16, choices=MessageKind.choices, default=MessageKind.TRANSACTIONAL)
    purpose = models.CharField(max_length=64, blank=True)
    template = models.CharField(max_length=100)
    headers = not_personal(models.JSONField(default=dict, blank=True))
    status = models.CharField(max_length=8, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    campaign = models.ForeignKey("Campaign", null=True, blank=True, on_delete=models.SET_NULL)
    # To someone Pacte does not keep: after delivery (or the last failed retry) the row, its throwaway
    # subject and that subject's keys are destroyed.
    ephemeral = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.template} {self.status}"


class Subscriber(models.Model):
    """A visitor without an account who asked for the newsletter or promotions (double opt-in)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.CASCADE, related_name="subscriptions")
    email = EncryptedEmailField(category="contact.email")
    # Keyed HMAC of the address (as allauth's pseudonyms, ADR 0001): finds a returning subscriber.
    email_key = not_personal(models.CharField(max_length=80, unique=True))
    purposes = not_personal(models.JSONField(default=list))
    lang = models.CharField(max_length=2, default="fr")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # When the last confirmation link was queued: one pending confirmation per address (no mail-bombing).
    confirm_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")

    def __str__(self) -> str:
        return f"subscriber {str(self.pk)[:8]}"


class Campaign(models.Model):
    template = models.CharField(max_length=100)
    purpose = models.CharField(max_length=64)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    selected = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    started_by = models.CharField(max_length=80, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return f"{self.template} ({self.purpose})"
