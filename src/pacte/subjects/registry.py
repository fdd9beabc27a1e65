"""Every app says, in ``AppConfig.ready()``, how to export and how to erase its data about a subject.

``register(Model, exporter=…, eraser=…)``; both default to "the rows whose ``subject`` is this subject":
the default exporter yields each row's fields (vault fields decrypted, "erased" when their key is gone),
the default eraser deletes the rows. A system check (``pacte.E030``, subjects/checks.py) refuses to start when a model that
holds personal data has no registration.
"""

from __future__ import annotations

import datetime
import decimal
import inspect
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute

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


_FROM_DB = inspect.getattr_static(models.Model, "from_db")
_PLAIN_TYPES = frozenset({str, int, float, bool, dict, list, type(None)})


def value_plain(value: Any) -> Any:
    """Turn a field value into something JSON and CSV can hold."""
    if type(value) in _PLAIN_TYPES:  # the common case first: the value already is
        return value
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


def _columns_plan(model: type[models.Model], names: tuple[str, ...]) -> Any:
    """How to export ``names`` from plain columns instead of model instances; None when unsafe.

    Returns (columns to select, and per exported name: its column's index, its vault reader or None, the
    index of the column holding the subject whose key opens it). Only when each name reads straight from
    its column (Django's plain descriptors) or is a vault field (it has ``sealed_reader``; the vault
    layer is not imported here) and the model builds its instances the ordinary way: then a column's
    value is what ``getattr(instance, name)`` gives, with vault fields decrypted by their reader.
    """
    if (
        model.__init__ is not models.Model.__init__
        or inspect.getattr_static(model, "from_db") is not _FROM_DB
    ):
        return None
    columns = list(names)
    pk = model._meta.pk
    assert pk is not None

    def column(attname: str) -> int:
        if attname not in columns:
            columns.append(attname)
        return columns.index(attname)

    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    plan = []
    for index, name in enumerate(names):
        field = by_attname.get(name)
        descriptor = inspect.getattr_static(model, name, None)
        sealed_reader = getattr(field, "sealed_reader", None)
        if sealed_reader is not None and getattr(descriptor, "field", None) is field:
            subject_attname = model._meta.get_field(getattr(field, "subject_field", "subject")).attname  # type: ignore[union-attr]
            plan.append((name, index, sealed_reader(), column(subject_attname)))
        elif type(descriptor) in (DeferredAttribute, ForeignKeyDeferredAttribute):
            plan.append((name, index, None, 0))
        else:
            return None
    return columns, column(pk.attname), plan


def rows_export(model: type[models.Model], subject: Any, *, exclude: tuple[str, ...] = ()) -> Iterator[dict]:
    """Yield every row of ``model`` about ``subject`` as a dict of plain values (bounded memory).

    Reads columns, not model instances, when that gives the same values (``_columns_plan``): a vault
    field's data key is then looked up once for the whole read, not once per value.
    """
    names = rows_fields(model, exclude=exclude)
    rows = model._default_manager.filter(subject=subject)
    plan = _columns_plan(model, names)
    if plan is None:
        for row in rows.iterator(chunk_size=500):
            yield {name: value_plain(getattr(row, name)) for name in names}
        return
    columns, pk_index, fields = plan
    for values in rows.values_list(*columns).iterator(chunk_size=2000):
        row_id = values[pk_index]
        if row_id is not None:
            row_id = str(row_id)  # once per row, not once per vault field
        record = {}
        for name, index, read, subject_index in fields:
            value = values[index]
            if read is not None and value is not None:
                value = read(value, values[subject_index], row_id)
            record[name] = value_plain(value)
        yield record


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
