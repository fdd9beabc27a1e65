"""Sharing keeps no table of its own: every disclosure is a ``disclosure`` entry of the ledger."""

# --- Operator webhooks (issue 15, point 3): endpoints and their deliveries (an outbox). ----------------

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pacte.policy.registry import not_personal


class WebhookEvent(models.TextChoices):
    ACCOUNT_ERASED = "account.erased", _("Account erased (erasure notice, GDPR art. 19; always sent)")
    CONSENT_WITHDRAWN = "consent.withdrawn", _("Consent withdrawn")
    ORDER_PAID = "order.paid", _("Order paid")


class WebhookEndpoint(models.Model):
    """Where staff asked Pacte to post events for one recipient the policy declares.

    ``secret`` is the signing secret sealed under a system key of the key store (``vault.seal_system``):
    the default database alone can neither read it nor forge a signature.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.CharField(_("recipient"), max_length=64)
    purpose = models.CharField(_("purpose"), max_length=64)
    url = not_personal(models.CharField(_("address"), max_length=500))
    events = not_personal(models.JSONField(_("events"), default=list))
    secret = not_personal(models.TextField(editable=False))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=80, blank=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return f"{self.recipient} {self.url}"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed after every retry")
    DROPPED = "dropped", _("Not sent: the person was erased first")


class WebhookDelivery(models.Model):
    """One event to one endpoint. ``body`` is sealed (``vault.seal_system``) until delivered, then emptied.

    ``subject_id`` is the pseudonymous id, as in the ledger (no foreign key: an erasure notice outlives
    the subject's records).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    event = models.CharField(_("event"), max_length=32, choices=WebhookEvent.choices)
    subject_id = models.UUIDField(null=True, blank=True, db_index=True)
    body = not_personal(models.TextField(blank=True, editable=False))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.CharField(_("last error"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} {self.status}"

    @property
    def webhook_id(self) -> str:
        """The ``webhook-id`` header: the same on every attempt, so that receivers can drop duplicates."""
        return f"msg_{self.pk.hex}"
