"""Models used only by tests: a realistic 'person' row with every kind of vault field."""

from __future__ import annotations

import uuid

from django.db import models

from pacte.vault.fields import (
    EncryptedDateField,
    EncryptedEmailField,
    EncryptedJSONField,
    EncryptedPhoneField,
    EncryptedPostalAddressField,
    EncryptedTextField,
)


class Person(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT)
    name = EncryptedTextField(category="identity.name")
    email = EncryptedEmailField(category="contact.email")
    phone = EncryptedPhoneField(category="contact.phone")
    address = EncryptedPostalAddressField(category="contact.postal")
    birth_date = EncryptedDateField(category="identity.birth_date")
    notes = EncryptedJSONField(category="identity.name")


class Invoice(models.Model):
    """A row kept under a legal hold: encrypted under the subject's 'invoices' class key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT)
    billed_name = EncryptedTextField(category="identity.name", retention_class="invoices")
    amount_cents = models.IntegerField()
