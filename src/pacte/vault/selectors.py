"""Reads of the vault."""

from __future__ import annotations

import uuid
from collections import Counter

from pacte.vault.blind import blind_index_digest
from pacte.vault.models import BlindIndex, DataKey


def blind_index_lookup(*, scope: str, value: str, kind: str) -> uuid.UUID | None:
    """Return the subject id whose ``kind`` value in ``scope`` is ``value``, or None."""
    try:
        digest = blind_index_digest(value=value, kind=kind)
    except ValueError:
        return None
    row = BlindIndex.objects.filter(scope=scope, kind=kind, digest=digest).only("subject_id").first()
    return row.subject_id if row else None


def keys_by_master_key() -> dict[str, int]:
    """Count data keys per master key id (for `pacte vault status`)."""
    return dict(Counter(DataKey.objects.values_list("master_key_id", flat=True)))
