"""The master key ring and the named system secrets it protects.

``PACTE_MASTER_KEYS`` holds one or more AES-256 keys as ``id:base64,id:base64``; the first one encrypts
(wraps), every one can decrypt (unwrap), so rotation is: put a new key first, run `pacte vault rotate`,
then remove the old one. The embedded default keeps one key in ``$PACTE_HOME/master.key`` (mode 0600),
created on first use; production mode refuses to start without ``PACTE_MASTER_KEYS``.

Nothing here ever logs or formats key material.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import DatabaseError, IntegrityError, transaction

from pacte.vault import app_settings
from pacte.vault.errors import MasterKeyError
from pacte.vault.models import DataKey, SystemSecret

KEY_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


@dataclass(frozen=True)
class MasterKeyRing:
    keys: dict[str, bytes]
    primary: str

    def wrap(self, secret: bytes, *, context: str) -> tuple[str, bytes]:
        """Encrypt ``secret`` under the primary master key; ``context`` is bound as associated data."""
        nonce = os.urandom(12)
        blob = nonce + AESGCM(self.keys[self.primary]).encrypt(nonce, secret, context.encode())
        return self.primary, blob

    def unwrap(self, key_id: str, blob: bytes | memoryview, *, context: str) -> bytes:
        """Decrypt a wrapped secret; raise MasterKeyError naming the key id when it cannot."""
        key = self.keys.get(key_id)
        if key is None:
            raise MasterKeyError(
                f"A stored key is wrapped by master key '{key_id}', which is not configured. "
                f"Add it back to PACTE_MASTER_KEYS (configured: {', '.join(self.keys)})."
            )
        blob = bytes(blob)
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], context.encode())
        except InvalidTag:
            raise MasterKeyError(
                f"The master key with id '{key_id}' cannot unwrap a stored key: it is not the key that "
                "wrapped it (wrong PACTE_MASTER_KEYS value?) or the key store was altered. Nothing was changed."
            ) from None


def parse_master_keys(text: str) -> MasterKeyRing:
    """Parse ``id:base64[,id:base64…]``; the first key is the primary one."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for item in (part.strip() for part in text.replace("\n", ",").split(",")):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep or not key_id or not set(key_id) <= KEY_ID_CHARS:
            raise MasterKeyError(
                "PACTE_MASTER_KEYS must read 'id:base64key[,id:base64key…]' (ids of letters, digits, - _ .)."
            )
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise MasterKeyError(f"Master key '{key_id}' is not valid base64.") from None
        if len(raw) != 32:
            raise MasterKeyError(f"Master key '{key_id}' must be 32 bytes (AES-256), not {len(raw)}.")
        if key_id in keys:
            raise MasterKeyError(f"Master key id '{key_id}' appears twice in PACTE_MASTER_KEYS.")
        keys[key_id] = raw
        order.append(key_id)
    if not keys:
        raise MasterKeyError("PACTE_MASTER_KEYS is empty.")
    return MasterKeyRing(keys=keys, primary=order[0])


def new_master_key_line(key_id: str = "k1") -> str:
    """Return a fresh ``id:base64`` master key (for `pacte vault new-key` and the embedded default)."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


_ring_lock = threading.Lock()
_ring_cache: dict[str, MasterKeyRing] = {}


def _refuse_if_the_key_store_holds_keys(path: Path) -> None:
    """Refuse to make a new master key when the key store already holds keys wrapped by another one.

    A new key could never read them: every person's data would look erased. This happens when Pacte is
    started with another PACTE_HOME than the one its databases were made with, or master.key was lost.
    """

    try:
        held = SystemSecret.objects.exists() or DataKey.objects.exists()
    except DatabaseError:
        return  # no key store yet (first start, before migrate): nothing a new key could fail to read
    if held:
        raise MasterKeyError(
            f"The key store already holds keys, but {path} is missing: a new master key could not read "
            "them. Put the original master.key back in that folder (or set PACTE_MASTER_KEYS), or check "
            "that PACTE_HOME names the folder Pacte was installed with."
        )


def master_key_ring() -> MasterKeyRing:
    """Return the configured master key ring (read once per process and configuration)."""
    text = app_settings.master_keys()
    path = app_settings.master_key_file()
    cache_key = text or f"file:{path}"
    ring = _ring_cache.get(cache_key)
    if ring is not None:
        return ring
    with _ring_lock:
        if not text:
            if app_settings.production():
                raise MasterKeyError(
                    "PACTE_MASTER_KEYS is not set. In production Pacte needs its master key: set "
                    "PACTE_MASTER_KEYS=k1:<32 random bytes in base64> (`pacte vault new-key` prints one) "
                    "and keep a copy somewhere safe, apart from the database backups."
                )
            if not path.exists():
                _refuse_if_the_key_store_holds_keys(path)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(new_master_key_line("k1") + "\n")
            text = path.read_text()
        ring = parse_master_keys(text)
        _ring_cache.clear()
        _ring_cache[cache_key] = ring
        return ring


def reset_caches() -> None:
    """Forget the master ring and the system secrets cached in this process (tests, rotation)."""
    _ring_cache.clear()
    _secret_cache.clear()


_secret_cache: dict[str, bytes] = {}


def system_secret(name: str, *, length: int = 32) -> bytes:
    """Return the named random secret, creating it (wrapped in the key store) on first use."""
    cached = _secret_cache.get(name)
    if cached is not None:
        return cached

    ring = master_key_ring()
    context = f"secret|{name}"
    row = SystemSecret.objects.filter(name=name).first()
    if row is None:
        key_id, blob = ring.wrap(secrets.token_bytes(length), context=context)
        try:
            with transaction.atomic(using="keys"):
                row = SystemSecret.objects.create(name=name, master_key_id=key_id, wrapped=blob)
        except IntegrityError:  # another process created it first: use theirs
            row = SystemSecret.objects.get(name=name)
    value = ring.unwrap(row.master_key_id, row.wrapped, context=context)
    _secret_cache[name] = value
    return value


# --- Dated secrets: one random secret per (name, day), destroyed when its day is old enough --------
# Never kept in the process cache above: a destroyed day's secret must not outlive its row in memory of
# a long-running process (callers cache the current day's value themselves and drop it when the day ends).


def _dated_name(prefix: str, day: date) -> str:
    return f"{prefix}@{day.isoformat()}"


def dated_secret(prefix: str, day: date, *, length: int = 32) -> bytes:
    """Return the random secret of ``prefix`` for ``day``, creating it (wrapped in the key store) once."""
    name = _dated_name(prefix, day)
    ring = master_key_ring()
    context = f"secret|{name}"
    row = SystemSecret.objects.filter(name=name).first()
    if row is None:
        key_id, blob = ring.wrap(secrets.token_bytes(length), context=context)
        try:
            with transaction.atomic(using="keys"):
                row = SystemSecret.objects.create(name=name, master_key_id=key_id, wrapped=blob)
        except IntegrityError:  # another process created it first: use theirs
            row = SystemSecret.objects.get(name=name)
    return ring.unwrap(row.master_key_id, row.wrapped, context=context)


def dated_secret_exists(prefix: str, day: date) -> bool:
    """Tell whether the secret of ``prefix`` for ``day`` is still in the key store."""
    return SystemSecret.objects.filter(name=_dated_name(prefix, day)).exists()


def dated_secrets_destroy(prefix: str, *, before: date) -> int:
    """Delete every secret of ``prefix`` whose day is before ``before``; return how many.

    The rows are deleted (SQLite's ``secure_delete`` overwrites their bytes); callers then push the
    deletion out of the key store's files with ``vault.services.storage_scrub("keys")``.
    """
    names = [
        name
        for name in SystemSecret.objects.filter(name__startswith=f"{prefix}@").values_list("name", flat=True)
        if name.rpartition("@")[2] < before.isoformat()
    ]
    if not names:
        return 0
    with transaction.atomic(using="keys"):
        deleted, _ = SystemSecret.objects.filter(name__in=names).delete()
    for name in names:
        _secret_cache.pop(name, None)
    return deleted
