"""Writes of the vault: blind indexes, key destruction (crypto-shredding), master-key rotation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from pacte.core.errors import PacteError
from pacte.vault.blind import blind_index_digest
from pacte.vault.crypto import _wrap_context, cache_evict
from pacte.vault.keyring import master_key_ring, reset_caches
from pacte.vault.models import BlindIndex, DataKey, KeyDestruction, SystemSecret


def _sid(subject: Any) -> str:
    return str(getattr(subject, "pk", subject))


def blind_index_set(*, subject: Any, scope: str, value: str, kind: str) -> BlindIndex:
    """Point (scope, value) at ``subject``, replacing the subject's previous value in that scope."""
    digest = blind_index_digest(value=value, kind=kind)
    with transaction.atomic(using="keys"):
        taken = BlindIndex.objects.filter(scope=scope, kind=kind, digest=digest).exclude(
            subject_id=_sid(subject)
        )
        if taken.exists():
            raise PacteError(
                gettext("This value is already used by someone else."), "vault.blind_index_taken", status=409
            )
        BlindIndex.objects.filter(scope=scope, kind=kind, subject_id=_sid(subject)).exclude(
            digest=digest
        ).delete()
        row, _created = BlindIndex.objects.get_or_create(
            scope=scope, kind=kind, digest=digest, defaults={"subject_id": _sid(subject)}
        )
    return row


def blind_index_clear(*, subject: Any, scope: str | None = None) -> int:
    """Remove the subject's blind indexes (in one scope, or all); return how many."""
    rows = BlindIndex.objects.filter(subject_id=_sid(subject))
    if scope is not None:
        rows = rows.filter(scope=scope)
    deleted, _ = rows.delete()
    return deleted


def keys_destroy(*, subject: Any, retention_class: str | None = None, actor: str = "system") -> int:
    """Destroy the subject's data keys (all classes, or one) and, for all classes, its blind indexes.

    Every value encrypted under those keys becomes unreadable everywhere at once, backups of the
    ``default`` database included (they never contain keys). Returns the number of keys destroyed.
    Idempotent: destroying again destroys nothing more and records zero.
    """
    sid = _sid(subject)
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
    """
    from pacte.policy.selectors import policy_active

    held = {name for name, rc in policy_active().retention.items() if rc.legal_hold}
    sid = _sid(subject)
    classes = set(DataKey.objects.filter(subject_id=sid).values_list("retention_class", flat=True))
    destroyed = 0
    for retention_class in sorted(classes - held):
        destroyed += keys_destroy(subject=subject, retention_class=retention_class, actor=actor)
    if not held & classes:
        destroyed += keys_destroy(subject=subject, actor=actor)  # nothing held: all, blind indexes too
    else:
        blind_index_clear(subject=subject)
    return destroyed


def _ledger_record(*, subject_id: uuid.UUID, retention_class: str | None, count: int, actor: str) -> None:
    from pacte.ledger.services import entry_append

    with transaction.atomic():
        entry_append(
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
