"""Which model fields hold personal data, and under which policy category; which measures protect it.

A field declares its category with the attribute ``pacte_category`` (vault fields set it from their
``category=`` argument). A field may also say ``pacte_personal = True`` (personal, category still to
declare) or ``pacte_personal = False`` (not personal, whatever its name suggests). Plain text fields in
Pacte's own apps whose names look personal count as personal unless they say otherwise, so that a
forgotten ``email = models.EmailField()`` fails start-up instead of leaking.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db import models

PERSONAL_NAME = re.compile(
    r"(^|_)(e?mail|phone|mobile|first_name|last_name|full_name|surname|given_name|name|address|street|"
    r"postcode|postal|zip|city|birth|birthday|dob|ip|ip_address|iban|card)($|_)"
)
_TEXTUAL = (
    models.CharField,
    models.TextField,
    models.EmailField,
    models.GenericIPAddressField,
    models.DateField,
)
OWN_APP_PREFIXES = ("pacte.", "tests.")


def field_category(field: models.Field) -> str | None:
    """Return the policy category ``field`` declares, or None."""
    return getattr(field, "pacte_category", None)


def field_is_personal(field: models.Field) -> bool:
    """Tell whether ``field`` holds personal data (declared, or a plain field with a personal name)."""
    marker = getattr(field, "pacte_personal", None)
    if marker is not None:
        return bool(marker)
    if field_category(field):
        return True
    model = getattr(field, "model", None)
    app = model._meta.app_config if model is not None else None
    if app is None or not app.name.startswith(OWN_APP_PREFIXES):
        return False
    return isinstance(field, _TEXTUAL) and not field.choices and bool(PERSONAL_NAME.search(field.name))


def personal_fields(
    models_: list[type[models.Model]] | None = None,
) -> Iterator[tuple[type[models.Model], models.Field, str | None]]:
    """Yield (model, field, category) for every field that holds personal data."""
    for model in models_ if models_ is not None else apps.get_models():
        for field in model._meta.local_fields:
            if field_is_personal(field):
                yield model, field, field_category(field)


def field_purpose(field: models.Field) -> str | None:
    """Return the purpose without which ``field`` is never written (``only_under``), or None."""
    return getattr(field, "pacte_purpose", None)


def only_under(purpose: str, field: models.Field) -> models.Field:
    """Mark a personal field as written only when the policy declares ``purpose``.

    For a feature that a policy may not have (testimonials, a contact form): its code refuses to write
    unless the purpose is declared, so under a policy without it the field's category need not be
    declared either (the check ``pacte.E002`` skips the field). The code must keep that promise.
    """
    field.pacte_purpose = purpose  # type: ignore[attr-defined]
    return field


def not_personal(field: models.Field) -> models.Field:
    """Mark a field whose name looks personal as holding no personal data (``name = not_personal(…)``)."""
    field.pacte_personal = False  # type: ignore[attr-defined]
    return field


# --- Security measures actually in place (GDPR Art. 30(1)(g), Art. 32) ------------------------------


@dataclass(frozen=True)
class Measure:
    """A technical or organisational measure an app implements, said in French and English."""

    id: str
    fr: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.fr


_measures: dict[str, Measure] = {}


def measure_register(measure_id: str, *, fr: str, en: str) -> Measure:
    """Declare a security measure the calling app implements; call it from ``AppConfig.ready()``.

    The Art. 30 register lists only registered measures, so a measure is claimed exactly when the code
    that implements it is installed. Registering the same id again replaces its texts.
    """
    measure = Measure(id=measure_id, fr=fr, en=en)
    _measures[measure_id] = measure
    return measure


def measure_list() -> list[Measure]:
    """Return every registered measure, ordered by id."""
    return [_measures[key] for key in sorted(_measures)]
