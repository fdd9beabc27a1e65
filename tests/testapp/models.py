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


class TenSecrets(models.Model):
    """Ten encrypted fields: the vault benchmark's page reads one of these rows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT)
    f0 = EncryptedTextField(category="identity.name")
    f1 = EncryptedTextField(category="identity.name")
    f2 = EncryptedTextField(category="identity.name")
    f3 = EncryptedTextField(category="identity.name")
    f4 = EncryptedTextField(category="identity.name")
    f5 = EncryptedTextField(category="identity.name")
    f6 = EncryptedTextField(category="identity.name")
    f7 = EncryptedTextField(category="identity.name")
    f8 = EncryptedTextField(category="identity.name")
    f9 = EncryptedTextField(category="identity.name")


class TenPlain(models.Model):
    """The same ten fields in plaintext: the benchmark's baseline."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT)
    f0 = models.TextField()
    f1 = models.TextField()
    f2 = models.TextField()
    f3 = models.TextField()
    f4 = models.TextField()
    f5 = models.TextField()
    f6 = models.TextField()
    f7 = models.TextField()
    f8 = models.TextField()
    f9 = models.TextField()
