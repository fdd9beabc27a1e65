"""Writes of the vault: blind indexes, key destruction (crypto-shredding), master-key rotation."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.db import connections, router, transaction
from django.utils.translation import gettext

from pacte.core.errors import PacteError
from pacte.core.ports import record_fact
from pacte.policy.selectors import policy_active
from pacte.vault import error_codes
from pacte.vault.blind import blind_index_digest
from pacte.vault.crypto import _wrap_context, cache_evict
from pacte.vault.keyring import master_key_ring, reset_caches
from pacte.vault.models import BlindIndex, DataKey, KeyDestruction, SystemSecret

# A checkpoint waits for readers through SQLite's busy handler (the connection's timeout) first; these
# extra attempts cover a reader that keeps starting new snapshots.
SCRUB_ATTEMPTS = 5
SCRUB_PAUSE = 0.2


def _sid(subject: Any) -> str:
    return str(getattr(subject, "pk", subject))


def _secure_delete(alias: str) -> None:
    # SQLite otherwise leaves a deleted row's bytes in its page (and so in the WAL and the file).
    connection = connections[alias]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA secure_delete=ON")


def storage_scrub(alias: str) -> None:
    """Push the rows deleted from database ``alias`` out of its files now, not at the next clean stop.

    SQLite: checkpoint the write-ahead log into the database file and truncate it to zero bytes, so the
    old page images that still hold deleted rows are gone (the pages copied back were zeroed by
    ``secure_delete``). PostgreSQL: ``VACUUM (INDEX_CLEANUP ON)`` every table of the alias, so dead
    tuples and their index entries are removed and their space is reused (WAL archives and backups are
    the operator's to keep short: docs/operations.md). Inside a transaction on ``alias`` it runs right
    after that transaction commits. Raises PacteError ``vault.scrub_incomplete`` when a SQLite
    checkpoint cannot complete because another connection keeps reading an old snapshot.
    """
    if connections[alias].in_atomic_block:
        transaction.on_commit(functools.partial(_scrub_now, alias), using=alias)
        return
    _scrub_now(alias)


def _scrub_now(alias: str) -> None:
    connection = connections[alias]
    if connection.in_atomic_block:
        return  # a callback run inside a test's transaction: nothing was committed, nothing to scrub
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for attempt in range(SCRUB_ATTEMPTS):
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy, _log, _done = cursor.fetchone()
                if not busy:
                    return
                time.sleep(SCRUB_PAUSE * (attempt + 1))
        raise PacteError(
            gettext(
                "The deleted data is gone from the %(alias)s database, but old copies stay in its -wal "
                "file: another process kept reading it. Try again; erasing again is safe."
            )
            % {"alias": alias},
            error_codes.SCRUB_INCOMPLETE,
            status=503,
        )
    if connection.vendor == "postgresql":
        tables = sorted(
            {
                model._meta.db_table
                for model in apps.get_models()
                if model._meta.managed and router.allow_migrate_model(alias, model)
            }
            & set(connection.introspection.table_names())
        )
        if tables:
            # VACUUM refuses to run in a transaction block; outside atomic() Django's connection is in
            # autocommit mode, so this cursor runs it on its own.
            with connection.cursor() as cursor:
                cursor.execute(
                    "VACUUM (INDEX_CLEANUP ON) " + ", ".join(connection.ops.quote_name(t) for t in tables)
                )


def blind_index_set(*, subject: Any, scope: str, value: str, kind: str) -> BlindIndex:
    """Point (scope, value) at ``subject``, replacing the subject's previous value in that scope."""
    digest = blind_index_digest(value=value, kind=kind)
    with transaction.atomic(using="keys"):
        taken = BlindIndex.objects.filter(scope=scope, kind=kind, digest=digest).exclude(
            subject_id=_sid(subject)
        )
        if taken.exists():
            raise PacteError(
                gettext("This value is already used by someone else."),
                error_codes.BLIND_INDEX_TAKEN,
                status=409,
            )
        BlindIndex.objects.filter(scope=scope, kind=kind, subject_id=_sid(subject)).exclude(
            digest=digest
        ).delete()
        row, _created = BlindIndex.objects.get_or_create(
            scope=scope, kind=kind, digest=digest, defaults={"subject_id": _sid(subject)}
        )
    return row


def blind_index_clear(*, subject: Any, scope: str | None = None) -> int:
    """Remove the subject's blind indexes (in one scope, or all); return how many.

    The digests are gone from the key store's files too when this returns (see ``storage_scrub``).
    """
    deleted = _blind_index_delete(subject=subject, scope=scope)
    storage_scrub("keys")
    return deleted


def _blind_index_delete(*, subject: Any, scope: str | None = None) -> int:
    _secure_delete("keys")
    rows = BlindIndex.objects.filter(subject_id=_sid(subject))
    if scope is not None:
        rows = rows.filter(scope=scope)
    deleted, _ = rows.delete()
    return deleted


def keys_destroy(*, subject: Any, retention_class: str | None = None, actor: str = "system") -> int:
    """Destroy the subject's data keys (all classes, or one) and, for all classes, its blind indexes.

    Every value encrypted under those keys becomes unreadable everywhere at once, backups of the
    ``default`` database included (they never contain keys). When this returns the keys are gone from
    the key store's files as well, not only from its tables (``storage_scrub``; with an enclosing
    transaction on ``keys``, right after it commits). Returns the number of keys destroyed.
    Idempotent: destroying again destroys nothing more and records zero.
    """
    count = _keys_delete(subject=subject, retention_class=retention_class, actor=actor)
    storage_scrub("keys")
    return count


def _keys_delete(*, subject: Any, retention_class: str | None, actor: str) -> int:
    sid = _sid(subject)
    _secure_delete("keys")
    with transaction.atomic(using="keys"):
        rows = DataKey.objects.filter(subject_id=sid)
        if retention_class is not None:
            rows = rows.filter(retention_class=retention_class)
        count, _ = rows.delete()
        if retention_class is None:
            BlindIndex.objects.filter(subject_id=sid).delete()
        KeyDestruction.objects.create(subject_id=sid, retention_class=retention_class or "", keys=count)
    cache_evict(sid, retention_class)
    _ledger_record(subject_id=uuid.UUID(sid), retention_class=retention_class, count=count, actor=actor)
    return count


def keys_destroy_all_but_legal_hold(*, subject: Any, actor: str = "system") -> int:
    """Destroy every data key of the subject except those of legal-hold classes, and its blind indexes.

    What the law obliges the operator to keep (invoices) stays readable under its own class key, to
    authorised staff only, until retention destroys that class too. Returns the number of keys destroyed.

    This is the erasure's last deleting step (``rights.services.erasure_run`` deletes the subject's
    records first), so it scrubs the files of the ``default`` database as well as the key store's: the
    deleted rows and the e-mail pseudonym leave its -wal at once (after the caller's transaction on
    ``default`` commits, if one is open).
    """
    held = {name for name, rc in policy_active().retention.items() if rc.legal_hold}
    sid = _sid(subject)
    classes = set(DataKey.objects.filter(subject_id=sid).values_list("retention_class", flat=True))
    destroyed = 0
    for retention_class in sorted(classes - held):
        destroyed += _keys_delete(subject=subject, retention_class=retention_class, actor=actor)
    if not held & classes:
        # Nothing held: all, blind indexes too.
        destroyed += _keys_delete(subject=subject, retention_class=None, actor=actor)
    else:
        _blind_index_delete(subject=subject)
    storage_scrub("keys")
    storage_scrub("default")
    return destroyed


def _ledger_record(*, subject_id: uuid.UUID, retention_class: str | None, count: int, actor: str) -> None:
    """Record the destruction as a fact of the proof ledger (through the port the ledger plugs)."""
    with transaction.atomic():
        record_fact(
            type="key.destroyed",
            subject_id=subject_id,
            actor=actor,
            payload={"retention_class": retention_class, "keys": count},
        )


def keys_rewrap(*, batch_size: int = 500, progress: Callable[[int, int], None] | None = None) -> int:
    """Re-wrap every data key and system secret under the newest master key; return how many.

    Works in batches, each in its own transaction, and skips what is already under the newest key, so
    an interrupted run resumes where it stopped when started again.
    """
    reset_caches()
    ring = master_key_ring()
    total = (
        DataKey.objects.exclude(master_key_id=ring.primary).count()
        + SystemSecret.objects.exclude(master_key_id=ring.primary).count()
    )
    done = 0
    model: Any
    for model, context_of in (
        (SystemSecret, lambda row: f"secret|{row.name}"),
        (DataKey, lambda row: _wrap_context(str(row.subject_id), row.retention_class)),
    ):
        while True:
            batch = list(model.objects.exclude(master_key_id=ring.primary).order_by("pk")[:batch_size])
            if not batch:
                break
            with transaction.atomic(using="keys"):
                for row in batch:
                    context = context_of(row)
                    secret = ring.unwrap(row.master_key_id, row.wrapped, context=context)
                    row.master_key_id, row.wrapped = ring.wrap(secret, context=context)
                model.objects.bulk_update(batch, ["master_key_id", "wrapped"])
            done += len(batch)
            if progress:
                progress(done, total)
    return done
