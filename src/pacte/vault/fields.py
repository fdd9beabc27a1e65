"""Encrypted model fields.

A vault field stores ciphertext in a text column and shows plaintext on the model instance. It needs
two things from its model: a foreign key to ``subjects.Subject`` (``subject_field``, default
``subject``) whose keys encrypt it, and a primary key known before the row is inserted (a ``UUIDField``
with a default), because the row id is part of the associated data. ``checks.py`` enforces both.

Values are encrypted in ``pre_save`` (where the instance is known) and decrypted lazily on first access
(so listing rows costs no decryption until a value is shown). A value whose key was destroyed reads as
``ERASED``. Querying by a vault field's plaintext is impossible by design: use a blind index.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django import forms
from django.core import validators
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from pacte.core.erased import ERASED
from pacte.core.errors import PacteError
from pacte.vault import error_codes
from pacte.vault.crypto import associated_data, data_key, decrypt, encrypt

# ERASED is declared in core, so that every layer (the subjects registry among them) can recognise it.
__all__ = ["ERASED"]


class Sealed(str):
    """A ciphertext read from the database, not decrypted yet."""


class Ciphertext(str):
    """A ciphertext produced by ``pre_save``, on its way to the database."""


class _VaultDescriptor:
    def __init__(self, field: EncryptedField) -> None:
        self.field = field

    def __get__(self, instance: models.Model | None, owner: type) -> Any:
        if instance is None:
            return self
        name = self.field.attname
        value = instance.__dict__.get(name)
        if isinstance(value, Sealed):
            instance.__dict__[f"_sealed_{name}"] = value
            value = self.field.open(instance, value)
            instance.__dict__[name] = value
        return value

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


if TYPE_CHECKING:
    _TextField = models.TextField[Any, Any]
else:
    _TextField = models.TextField


class EncryptedField(_TextField):
    """Base of every vault field: category, retention class and the subject whose key encrypts it."""

    kind = "text"
    if TYPE_CHECKING:  # tell django-stubs a vault field takes and gives any Python value
        _pyi_private_set_type: Any
        _pyi_private_get_type: Any

    def __init__(
        self,
        *args: Any,
        category: str,
        retention_class: str = "account",
        subject_field: str = "subject",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)
        self.pacte_category = category
        self.retention_class = retention_class
        self.subject_field = subject_field

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["category"] = self.pacte_category
        if self.retention_class != "account":
            kwargs["retention_class"] = self.retention_class
        if self.subject_field != "subject":
            kwargs["subject_field"] = self.subject_field
        return name, path, args, kwargs

    def contribute_to_class(self, cls: type[models.Model], name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        setattr(cls, self.attname, _VaultDescriptor(self))

    # --- plaintext <-> python -------------------------------------------------------------------
    def to_plaintext(self, value: Any) -> str:
        return str(value)

    def from_plaintext(self, text: str) -> Any:
        return text

    # --- database ---------------------------------------------------------------------------------
    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else Sealed(value)

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, (Sealed, Ciphertext)):
            return None if value is None else str(value)
        raise PacteError(
            f"{self.model._meta.label}.{self.name} is encrypted: write it with save() on the instance, "
            "and look it up through a blind index, never by its plaintext.",
            error_codes.NO_CONTEXT,
        )

    def _context(self, instance: models.Model) -> tuple[Any, bytes]:
        subject_id = getattr(instance, f"{self.subject_field}_id", None)
        if subject_id is None or instance.pk is None:
            raise PacteError(
                f"{self.model._meta.label}.{self.name} needs its row's subject and a primary key set before saving.",
                error_codes.NO_CONTEXT,
            )
        aad = associated_data(
            subject_id=subject_id,
            model_label=self.model._meta.label,
            field=self.name,
            row_id=instance.pk,
            retention_class=self.retention_class,
        )
        return subject_id, aad

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if value is None or isinstance(value, Sealed):
            return value
        if value is ERASED:
            return model_instance.__dict__.get(f"_sealed_{self.attname}")
        subject_id, aad = self._context(model_instance)
        key = data_key(subject_id, self.retention_class, create=True)
        assert key is not None
        return Ciphertext(encrypt(self.to_plaintext(value), key=key, aad=aad))

    def open(self, instance: models.Model, sealed: str) -> Any:
        """Decrypt ``sealed`` for ``instance``; ERASED when the key is gone."""
        subject_id, aad = self._context(instance)
        key = data_key(subject_id, self.retention_class, create=False)
        if key is None:
            return ERASED
        return self.from_plaintext(decrypt(sealed, key=key, aad=aad))

    def sealed_reader(self) -> Callable[[str, Any, Any], Any]:
        """Return ``read(sealed, subject_id, row_id)``: the plaintext of a ciphertext read without its row.

        For bulk reads (the export) that fetch columns instead of model instances: ``subject_id`` is the
        row's value of ``subject_field`` and ``row_id`` its primary key (either as its ``str``). The same
        checks as reading the instance apply (associated data, ``ERASED`` when the key is gone). The
        reader looks each subject's data key up once and keeps it, ready to use, for its own lifetime:
        make one per bulk read, inside the request's or task's ``vault_scope()``, and drop it after.
        """
        ciphers: dict[Any, tuple[str, AESGCM | None]] = {}
        model_label = self.model._meta.label
        name = self.name
        retention_class = self.retention_class
        from_plaintext = self.from_plaintext

        def read(sealed: str, subject_id: Any, row_id: Any) -> Any:
            if subject_id is None or row_id is None:
                raise PacteError(
                    f"{self.model._meta.label}.{name} needs its row's subject and a primary key set before saving.",
                    error_codes.NO_CONTEXT,
                )
            known = ciphers.get(subject_id)
            if known is None:
                key = data_key(subject_id, retention_class, create=False)
                known = ciphers[subject_id] = (str(subject_id), None if key is None else AESGCM(key))
            sid, cipher = known
            if cipher is None:
                return ERASED
            aad = associated_data(
                subject_id=sid,
                model_label=model_label,
                field=name,
                row_id=row_id,
                retention_class=retention_class,
            )
            return from_plaintext(decrypt(sealed, key=cipher, aad=aad))

        return read

    def to_python(self, value: Any) -> Any:
        if value is None or value is ERASED or isinstance(value, Sealed):
            return value
        if isinstance(value, Promise):
            value = str(value)
        return value

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else self.to_plaintext(value) if value is not ERASED else str(value)

    def get_internal_type(self) -> str:
        return "TextField"

    def formfield(self, **kwargs: Any) -> Any:
        return forms.CharField(required=not self.blank, **kwargs)


class EncryptedTextField(EncryptedField):
    pass


class EncryptedEmailField(EncryptedField):
    kind = "email"
    default_validators = [validators.validate_email]

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return value.strip() if isinstance(value, str) else value

    def formfield(self, **kwargs: Any) -> Any:
        return forms.EmailField(required=not self.blank, **kwargs)


_PHONE_ALLOWED = re.compile(r"^\+?[0-9 ().\-/]{6,25}$")


def normalise_phone(value: str, *, default_country: str = "FR") -> str:
    """Return the E.164 form of a phone number (``06 12 34 56 78`` → ``+33612345678``)."""
    text = value.strip()
    if not _PHONE_ALLOWED.match(text):
        raise ValueError("not a phone number")
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        number = digits
    elif digits.startswith("00"):
        number = digits[2:]
    elif digits.startswith("0"):
        prefix = {"FR": "33", "GB": "44", "BE": "32", "CH": "41", "DE": "49"}.get(default_country, "33")
        number = prefix + digits[1:]
    else:
        number = digits
    if not 8 <= len(number) <= 15:
        raise ValueError("not a phone number")
    return "+" + number


def validate_phone(value: Any) -> None:
    if value is ERASED or value is None:
        return
    try:
        normalise_phone(str(value))
    except ValueError:
        raise ValidationError(
            gettext_lazy("Enter a phone number, e.g. +33 6 12 34 56 78."), code="invalid_phone"
        ) from None


class EncryptedPhoneField(EncryptedField):
    kind = "phone"
    default_validators = [validate_phone]


ADDRESS_KEYS = ("lines", "postcode", "city", "country")


class EncryptedPostalAddressField(EncryptedField):
    """A structured postal address: ``{"lines": [...], "postcode": "", "city": "", "country": "FR"}``."""

    kind = "postal"

    def to_plaintext(self, value: Any) -> str:
        return json.dumps(self.to_python(value), ensure_ascii=False, sort_keys=True)

    def from_plaintext(self, text: str) -> Any:
        return json.loads(text)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value is None or value is ERASED or isinstance(value, Sealed):
            return value
        if isinstance(value, str):
            value = json.loads(value)
        if not isinstance(value, dict) or set(value) - set(ADDRESS_KEYS):
            raise ValidationError(
                gettext_lazy("A postal address has lines, a postcode, a city and a country."), code="invalid"
            )
        lines = value.get("lines") or []
        return {
            "lines": [str(line) for line in (lines if isinstance(lines, list) else [lines])],
            "postcode": str(value.get("postcode", "")),
            "city": str(value.get("city", "")),
            "country": str(value.get("country", "")),
        }


class EncryptedDateField(EncryptedField):
    kind = "date"

    def to_plaintext(self, value: Any) -> str:
        return self.to_python(value).isoformat()

    def from_plaintext(self, text: str) -> Any:
        return datetime.date.fromisoformat(text)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                raise ValidationError(gettext_lazy("Enter a valid date."), code="invalid") from None
        return value

    def formfield(self, **kwargs: Any) -> Any:
        return forms.DateField(required=not self.blank, **kwargs)


class EncryptedJSONField(EncryptedField):
    kind = "json"

    def to_plaintext(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    def from_plaintext(self, text: str) -> Any:
        return json.loads(text)

    def formfield(self, **kwargs: Any) -> Any:
        return forms.JSONField(required=not self.blank, **kwargs)
