"""The data subject: every person Pacte holds data about, known by a pseudonymous UUID only.

Nothing of the person lives on this row: their data sits in vault fields of other apps' models, each
pointing here, encrypted under this subject's keys.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class SubjectKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    ORGANISATION_CONTACT = "organisation_contact", _("Organisation contact")
    SUBSCRIBER = "subscriber", _("Newsletter-only subscriber")
    CONTACT = "contact", _("Contact-form sender")
    STAFF = "staff", _("Staff member")


class Subject(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=SubjectKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # Restriction of processing (GDPR art. 18): while set, services only store, never process.
    restricted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("data subject")
        verbose_name_plural = _("data subjects")
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None
