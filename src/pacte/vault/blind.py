"""Blind indexes: a keyed HMAC of a normalised value, for exact lookup without plaintext."""

from __future__ import annotations

import hashlib
import hmac

from pacte.vault.fields import normalise_phone
from pacte.vault.keyring import system_secret

KINDS = ("email", "phone", "text")


def normalise(value: str, kind: str) -> str:
    """Return the form of ``value`` that is indexed (lower-cased email, E.164 phone, trimmed text)."""
    if kind == "email":
        return value.strip().lower()
    if kind == "phone":
        return normalise_phone(value)
    if kind == "text":
        return " ".join(value.split()).casefold()
    raise ValueError(f"unknown blind-index kind {kind!r}; use one of {KINDS}")


def blind_index_digest(*, value: str, kind: str) -> str:
    """Return the hex HMAC-SHA256 of the normalised ``value`` under the blind-index key."""
    key = system_secret("blind-index")
    return hmac.new(key, f"{kind}:{normalise(value, kind)}".encode(), hashlib.sha256).hexdigest()
