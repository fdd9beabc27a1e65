"""The key store. Every model here lives in the ``keys`` database alias (see core.routers)."""

from __future__ import annotations

from django.db import models

from pacte.policy.registry import not_personal


class SystemSecret(models.Model):
    """A named random secret (blind-index key, ledger signing key…), wrapped by the master ring."""

    name = not_personal(models.CharField(max_length=100, unique=True))
    master_key_id = models.CharField(max_length=64)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class DataKey(models.Model):
    """The AES-256-GCM key of one (subject, retention class), wrapped by the master ring."""

    subject_id = models.UUIDField()
    retention_class = models.CharField(max_length=64)
    master_key_id = models.CharField(max_length=64)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subject_id", "retention_class"], name="vault_datakey_one_per_class"
            )
        ]
        indexes = [models.Index(fields=["master_key_id"])]

    def __str__(self) -> str:
        return f"{self.subject_id}/{self.retention_class}"


class BlindIndex(models.Model):
    """A keyed HMAC of a normalised value (email, phone) pointing at its subject, for exact lookup."""

    scope = models.CharField(max_length=64)
    kind = models.CharField(max_length=16)
    digest = models.CharField(max_length=64)
    subject_id = models.UUIDField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "kind", "digest"], name="vault_blindindex_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope}/{self.kind}"


class KeyDestruction(models.Model):
    """The record that a subject's keys were destroyed (no personal data: a UUID and a count)."""

    subject_id = models.UUIDField(db_index=True)
    retention_class = models.CharField(max_length=64, blank=True, default="")
    keys = models.PositiveIntegerField()
    destroyed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.subject_id} ({self.keys})"
