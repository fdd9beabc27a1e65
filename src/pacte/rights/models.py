"""Requests to exercise a data-subject right, with their deadlines and steps (each step is in the ledger)."""

from __future__ import annotations

import datetime
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pacte.vault.fields import EncryptedTextField


def now() -> datetime.datetime:
    """The clock deadlines are read against (tests travel in time by replacing it)."""
    return timezone.now()


class Kind(models.TextChoices):
    ACCESS = "access", _("Access (a copy of my data)")
    PORTABILITY = "portability", _("Portability (my data in a machine-readable file)")
    RECTIFICATION = "rectification", _("Rectification")
    ERASURE = "erasure", _("Erasure (delete my account)")
    OBJECTION = "objection", _("Objection")
    RESTRICTION = "restriction", _("Restriction of processing")


class Channel(models.TextChoices):
    PORTAL = "portal", _("My account")
    EMAIL = "email", _("E-mail")
    POST = "post", _("Post")
    PHONE = "phone", _("Phone")
    API = "api", _("API")


class IdentityCheck(models.TextChoices):
    SIGNED_IN = "signed_in", _("Signed in to the account")
    ACCOUNT_EMAIL = "account_email", _("Written from the account's e-mail address, confirmed by a link")
    ID_DOCUMENT = "id_document", _("Identity document seen, not kept")
    POSTAL_MATCH = "postal_match", _("Letter signed, sender's address matches the account")
    NOT_VERIFIED = "not_verified", _("Not verified yet")


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused (with reasons)")
    FAILED = "failed", _("Failed (staff must answer)")


OPEN = (Status.RECEIVED, Status.IN_PROGRESS, Status.FAILED)  # not answered yet


class RightsRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="rights_requests")
    kind = models.CharField(_("right"), max_length=16, choices=Kind.choices)
    channel = models.CharField(_("received by"), max_length=8, choices=Channel.choices)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    due_at = models.DateTimeField(_("due"))
    extended_to = models.DateTimeField(_("extended to"), null=True, blank=True)
    extension_reason = models.CharField(_("reason of the extension"), max_length=300, blank=True)
    identity_check = models.CharField(
        _("how identity was checked"), max_length=16, choices=IdentityCheck.choices
    )
    details = EncryptedTextField(_("details"), category="rights.requests", blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    steps_done = models.JSONField(default=list, blank=True)
    export_file = models.CharField(max_length=200, blank=True)
    export_expires_at = models.DateTimeField(null=True, blank=True)
    # While an export is built: the file being written, and until when the build counts as alive (each
    # progress pushes it on). A build whose lease has passed is dead: `exports_reclaim` starts it again.
    build_file = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    build_attempts = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.CharField(max_length=80, blank=True)
    lang = models.CharField(max_length=2, default="fr")

    class Meta:
        verbose_name = _("rights request")
        verbose_name_plural = _("rights requests")
        ordering = ["due_at"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {str(self.id)[:8]}"

    @property
    def deadline(self) -> datetime.datetime:
        return self.extended_to or self.due_at

    @property
    def is_overdue(self) -> bool:
        return self.status in OPEN and now() > self.deadline
