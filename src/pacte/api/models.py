"""API keys for the operator's other systems, and the evidence they send with a consent change."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from pacte.policy.registry import not_personal
from pacte.vault.fields import EncryptedTextField


class ApiKey(models.Model):
    """Only a SHA-256 of the secret is stored; the secret is shown once, when the key is created."""

    name = not_personal(models.CharField(_("name"), max_length=100))  # a system's name, e.g. "shop"
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ConsentEvidence(models.Model):
    """What a caller said proves a consent change (free text, encrypted under the person's keys)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.CASCADE)
    entry_seq = models.BigIntegerField()
    evidence = EncryptedTextField(category="consent.records", blank=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("consent evidence")
        verbose_name_plural = _("consent evidence")

    def __str__(self) -> str:
        return f"evidence of #{self.entry_seq}"
