"""Every app says, in ``AppConfig.ready()``, how to export and how to erase its data about a subject.

``register(Model, exporter=…, eraser=…)``; both default to "the rows whose ``subject`` is this subject":
the default exporter yields each row's fields (vault fields decrypted, "erased" when their key is gone),
the default eraser deletes the rows. A system check (``pacte.E030``, subjects/checks.py) refuses to start when a model that
holds personal data has no registration.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import models

from pacte.core.erased import ERASED

Exporter = Callable[[Any], Iterable[dict[str, Any]]]
Eraser = Callable[[Any], int]


@dataclass(frozen=True)
class Registration:
    model: type[models.Model]
    exporter: Exporter
    eraser: Eraser
    kind: str  # the name of the record kind in the export (a CSV file per kind)
    fields: tuple[str, ...]  # the columns of its CSV, written even when the subject has no such record
    label: Any  # what a person reads for this kind (lazy, translated)


_registry: dict[str, Registration] = {}


def value_plain(value: Any) -> Any:
    """Turn a field value into something JSON and CSV can hold."""
    if value is ERASED:
        return "erased"
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return None  # binary internals (hashes, ciphertext) are not the person's data
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


def rows_fields(model: type[models.Model], *, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Return the columns the default exporter writes for ``model``."""
    return tuple(
        f.attname for f in model._meta.concrete_fields if f.name not in exclude and f.attname != "subject_id"
    )


def rows_export(model: type[models.Model], subject: Any, *, exclude: tuple[str, ...] = ()) -> Iterator[dict]:
    """Yield every row of ``model`` about ``subject`` as a dict of plain values (bounded memory)."""
    names = rows_fields(model, exclude=exclude)
    for row in model._default_manager.filter(subject=subject).iterator(chunk_size=500):
        yield {name: value_plain(getattr(row, name)) for name in names}


def rows_delete(model: type[models.Model], subject: Any) -> int:
    """Delete every row of ``model`` about ``subject``; return how many."""
    deleted, _by_model = model._default_manager.filter(subject=subject).delete()
    return deleted


def register(
    model: type[models.Model],
    *,
    exporter: Exporter | None = None,
    eraser: Eraser | None = None,
    kind: str | None = None,
    fields: tuple[str, ...] | None = None,
    label: Any = None,
) -> None:
    """Register how to export and how to erase ``model``'s data about a subject.

    A custom ``exporter`` names the ``fields`` it yields (the CSV's header, written even when empty).
    ``label`` is what a person reads for this kind of record (default: the model's plural name).
    """
    if exporter is not None and fields is None:
        raise ValueError(f"{model._meta.label}: a custom exporter must name the fields it yields")
    _registry[model._meta.label] = Registration(
        model=model,
        exporter=exporter or (lambda subject: rows_export(model, subject)),
        eraser=eraser or (lambda subject: rows_delete(model, subject)),
        kind=kind or model._meta.label_lower.replace(".", "_"),
        fields=fields if fields is not None else rows_fields(model),
        label=label or model._meta.verbose_name_plural,
    )


def registrations() -> list[Registration]:
    """Return every registration, in a stable order (the order of the export)."""
    return [_registry[label] for label in sorted(_registry)]


def is_registered(model: type[models.Model]) -> bool:
    return model._meta.label in _registry
