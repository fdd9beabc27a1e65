"""Sharing keeps no table for ordinary disclosures: each one is a ``disclosure`` entry of the ledger.

Two things are rows. Requests from authorities: a request has a life (recorded, then approved by a
second person or rejected) and a gag flag that outlives it (``AuthorityRequest``, one
``AuthorityRequestSubject`` per person concerned). Operator webhooks: endpoints and their deliveries
(an outbox; ``WebhookEndpoint``, ``WebhookDelivery``). What was actually disclosed is still a
``disclosure`` ledger entry per person, written by ``services.disclose``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pacte.policy.registry import not_personal


class AuthorityKind(models.TextChoices):
    POLICE = "police", _("Police")
    JUDICIAL = "judicial", _("Court or prosecutor")
    TAX = "tax", _("Tax authority")
    REGULATOR = "regulator", _("Regulator")
    OTHER = "other", _("Other authority")


class AuthorityState(models.TextChoices):
    RECORDED = "recorded", _("Recorded, waiting for a second person")
    APPROVED = "approved", _("Approved")
    DISCLOSED = "disclosed", _("Answered with a disclosure")
    REJECTED = "rejected", _("Rejected")


class AuthorityRequest(models.Model):
    """A request from an authority for data about one or more people, under the two-person rule.

    No field holds a person's data: the people concerned are subject ids (``AuthorityRequestSubject``),
    and the free-text fields name the authority and the law, not the person (the form says so).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # An institution's name ("Tribunal judiciaire de Lyon"), not a person's: the form asks for no one's name.
    authority_name = not_personal(models.CharField(_("authority"), max_length=200))
    authority_kind = models.CharField(_("kind of authority"), max_length=16, choices=AuthorityKind.choices)
    legal_basis = models.TextField(_("legal basis"), max_length=2000)
    reference = models.CharField(_("reference of the request"), max_length=100)
    received_on = models.DateField(_("received on"))
    categories = models.JSONField(_("kinds of data requested"), default=list)
    gag = models.BooleanField(_("the person must not be told"), default=False)
    gag_reference = models.CharField(_("legal reference of the ban on telling"), max_length=300, blank=True)
    gag_lifted_at = models.DateTimeField(_("ban on telling lifted"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=AuthorityState.choices, default=AuthorityState.RECORDED
    )
    rejection_reason = models.CharField(_("reason of the rejection"), max_length=500, blank=True)
    recorded_by = models.CharField(_("recorded by"), max_length=80)
    approved_by = models.CharField(_("approved by"), max_length=80, blank=True)
    rejected_by = models.CharField(_("rejected by"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    disclosed_at = models.DateTimeField(_("disclosed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("authority request")
        verbose_name_plural = _("authority requests")
        ordering = ["-received_on", "-created_at"]
        indexes = [models.Index(fields=["received_on", "authority_kind"])]
        permissions = [("approve_authorityrequest", _("Can approve or reject an authority request"))]
        constraints = [
            # The two-person rule, also in the database: whoever writes the row, one person cannot both
            # record and approve (or record and reject) a request.
            models.CheckConstraint(
                condition=~Q(approved_by=F("recorded_by")), name="sharing_authority_approver_not_recorder"
            ),
            models.CheckConstraint(
                condition=~Q(rejected_by=F("recorded_by")), name="sharing_authority_rejecter_not_recorder"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["approved", "disclosed"]) | ~Q(approved_by=""),
                name="sharing_authority_approved_has_approver",
            ),
            models.CheckConstraint(
                condition=~Q(state="rejected") | ~Q(rejected_by=""),
                name="sharing_authority_rejected_has_rejecter",
            ),
            models.CheckConstraint(
                condition=Q(gag=False) | ~Q(gag_reference=""), name="sharing_authority_gag_has_reference"
            ),
            models.CheckConstraint(condition=~Q(recorded_by=""), name="sharing_authority_has_recorder"),
        ]

    def __str__(self) -> str:
        return f"{self.get_authority_kind_display()} {self.reference}"

    @property
    def gagged(self) -> bool:
        """Whether the people concerned must not be told yet."""
        return self.gag and self.gag_lifted_at is None


class AuthorityRequestSubject(models.Model):
    """One person concerned by an authority request: what was disclosed about them, and when told."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.ForeignKey(AuthorityRequest, on_delete=models.CASCADE, related_name="subjects")
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="+")
    categories_disclosed = models.JSONField(default=list, blank=True)
    # The ``disclosure`` ledger entry written for this person (withheld from them while the gag holds).
    disclosure_seq = models.BigIntegerField(null=True, blank=True)
    told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("person concerned")
        verbose_name_plural = _("people concerned")
        constraints = [
            models.UniqueConstraint(fields=["request", "subject"], name="sharing_authority_subject_once")
        ]

    def __str__(self) -> str:
        return f"{self.request_id}:{self.subject_id}"


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
