"""System checks of the vault (pacte.E020–E022)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.checks import Error, Tags, register
from django.db import models

from pacte.vault.errors import MasterKeyError
from pacte.vault.fields import EncryptedField
from pacte.vault.keyring import master_key_ring


@register(Tags.models, "pacte")
def vault_field_checks(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Every model with vault fields has a subject foreign key and a UUID primary key with a default."""
    errors = []
    for model in apps.get_models():
        fields = [f for f in model._meta.local_fields if isinstance(f, EncryptedField)]
        if not fields:
            continue
        pk = model._meta.pk
        if not isinstance(pk, models.UUIDField) or not pk.has_default():
            errors.append(
                Error(
                    f"{model._meta.label} has encrypted fields but its primary key is not a UUIDField with a default.",
                    hint="Use id = models.UUIDField(primary_key=True, default=uuid.uuid4): the row id is bound "
                    "into each ciphertext and must be known before the row is inserted.",
                    obj=model,
                    id="pacte.E020",
                )
            )
        for field in fields:
            try:
                subject = model._meta.get_field(field.subject_field)
            except Exception:
                subject = None
            if (
                not isinstance(subject, models.ForeignKey)
                or subject.related_model._meta.label != "subjects.Subject"
            ):
                errors.append(
                    Error(
                        f"{model._meta.label}.{field.name} names subject_field='{field.subject_field}', "
                        "which is not a foreign key to subjects.Subject.",
                        hint="Add subject = models.ForeignKey('subjects.Subject', on_delete=models.PROTECT).",
                        obj=field,
                        id="pacte.E021",
                    )
                )
    return errors


@register("pacte")
def master_key_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Refuse start-up when the master key ring is missing (production) or malformed (pacte.E022)."""
    try:
        master_key_ring()
    except MasterKeyError as error:
        return [Error(str(error.message), hint="See docs/operations.md, 'Master keys'.", id="pacte.E022")]
    return []
