"""Data keys and field encryption.

Each (subject, retention class) has its own AES-256-GCM data key, wrapped by the master ring and stored
in the ``keys`` database. A field value is encrypted as ``v1:`` + base64(nonce ‖ ciphertext ‖ tag) with
associated data binding it to its subject, model, field, row and retention class, so a ciphertext
copied anywhere else fails to decrypt instead of showing the wrong plaintext.

Unwrapped data keys are cached in a context-local dict that each request (``VaultScopeMiddleware``) and
each task (``vault_scope()``) starts empty; destroying a key evicts it at once.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import os
import secrets
import uuid
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import IntegrityError, connections, transaction

from pacte.vault.errors import VaultIntegrityError
from pacte.vault.keyring import master_key_ring, system_secret
from pacte.vault.models import DataKey

PREFIX = "v1:"
# System-sealed values written before ``seal_system`` existed: url-safe base64(nonce ‖ ciphertext ‖ tag).
LEGACY_SYSTEM_PREFIX = "pacte1:"
_MISSING = object()

_key_cache: contextvars.ContextVar[dict[tuple[str, str], object] | None] = contextvars.ContextVar(
    "pacte_vault_keys", default=None
)
_process_cache: dict[tuple[str, str], object] = {}


def _cache() -> dict[tuple[str, str], object]:
    cache = _key_cache.get()
    return _process_cache if cache is None else cache


@contextlib.contextmanager
def vault_scope() -> Iterator[None]:
    """Give the enclosed request or task its own data-key cache, dropped at the end."""
    token = _key_cache.set({})
    try:
        yield
    finally:
        _key_cache.reset(token)


def task_scope_begin(**kwargs: object) -> None:
    """Start a task with an empty data-key cache (connected to django-tasks' ``task_started``)."""
    _key_cache.set({})


def task_scope_end(**kwargs: object) -> None:
    """Drop the task's unwrapped keys (connected to django-tasks' ``task_finished``)."""
    _key_cache.set(None)


def cache_evict(subject_id: uuid.UUID | str, retention_class: str | None = None) -> None:
    """Forget the cached keys of a subject (all classes, or one)."""
    sid = str(subject_id)
    for cache in (_process_cache, _key_cache.get() or {}):
        for key in [k for k in cache if k[0] == sid and (retention_class is None or k[1] == retention_class)]:
            del cache[key]


def _wrap_context(subject_id: str, retention_class: str) -> str:
    return f"datakey|{subject_id}|{retention_class}"


def data_key(subject_id: uuid.UUID | str, retention_class: str, *, create: bool) -> bytes | None:
    """Return the unwrapped data key of (subject, class); None if it does not exist (destroyed)."""

    sid = str(subject_id)
    cache = _cache()
    cached = cache.get((sid, retention_class), _MISSING)
    if isinstance(cached, bytes):
        return cached
    ring = master_key_ring()
    context = _wrap_context(sid, retention_class)
    # One indexed read per (subject, class) per request, in plain SQL: it sits on every page that shows
    # personal data.
    keys_db = connections["keys"]
    with keys_db.cursor() as cursor:
        cursor.execute(
            "SELECT master_key_id, wrapped FROM vault_datakey WHERE subject_id = %s AND retention_class = %s",
            [DataKey._meta.get_field("subject_id").get_db_prep_value(sid, keys_db), retention_class],
        )
        found = cursor.fetchone()
    if found is not None:
        key = ring.unwrap(found[0], found[1], context=context)
        cache[(sid, retention_class)] = key
        return key
    if not create:
        return None  # never created, or destroyed: the values it encrypted are erased
    key_id, blob = ring.wrap(secrets.token_bytes(32), context=context)
    try:
        with transaction.atomic(using="keys"):
            row = DataKey.objects.create(
                subject_id=sid, retention_class=retention_class, master_key_id=key_id, wrapped=blob
            )
    except IntegrityError:  # created by a concurrent request: use that one
        row = DataKey.objects.get(subject_id=sid, retention_class=retention_class)
    key = ring.unwrap(row.master_key_id, row.wrapped, context=context)
    cache[(sid, retention_class)] = key
    return key


def data_keys_load(subject_ids: Iterable[uuid.UUID | str], retention_class: str) -> int:
    """Unwrap the existing data keys of many subjects into the cache, 500 per read; return how many.

    For bulk work (a campaign's chunk, a batch of mail): one indexed read instead of one per subject.
    Subjects without a key are left out, so ``data_key`` still decides for them (create, or ERASED).
    """

    cache = _cache()
    wanted = sorted({str(sid) for sid in subject_ids if (str(sid), retention_class) not in cache})
    if not wanted:
        return 0
    ring = master_key_ring()
    keys_db = connections["keys"]
    prep = DataKey._meta.get_field("subject_id").get_db_prep_value
    loaded = 0
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        placeholders = ", ".join(["%s"] * len(part))  # only "%s": the values are parameters
        sql = "SELECT subject_id, master_key_id, wrapped FROM vault_datakey WHERE retention_class = %s "
        sql += f"AND subject_id IN ({placeholders})"  # noqa: S608
        with keys_db.cursor() as cursor:
            cursor.execute(sql, [retention_class, *(prep(sid, keys_db) for sid in part)])
            rows = cursor.fetchall()
        for subject_id, key_id, wrapped in rows:
            sid = str(subject_id if isinstance(subject_id, uuid.UUID) else uuid.UUID(subject_id))
            cache[(sid, retention_class)] = ring.unwrap(
                key_id, wrapped, context=_wrap_context(sid, retention_class)
            )
            loaded += 1
    return loaded


def associated_data(
    *, subject_id: uuid.UUID | str, model_label: str, field: str, row_id: object, retention_class: str
) -> bytes:
    """Return the AEAD associated data that binds a value to its place."""
    return f"pacte:v1|{subject_id}|{model_label.lower()}|{field}|{row_id}|{retention_class}".encode()


def encrypt(plaintext: str, *, key: bytes, aad: bytes) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), aad)
    return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def decrypt(token: str, *, key: bytes | AESGCM, aad: bytes) -> str:
    """Decrypt a ``v1:`` value; ``key`` is a data key or, for bulk reads, an ``AESGCM`` made from one once."""
    if not token.startswith(PREFIX):
        raise VaultIntegrityError("This value is not a vault ciphertext.")
    try:
        raw = base64.b64decode(token[len(PREFIX) :], validate=True)
        cipher = key if isinstance(key, AESGCM) else AESGCM(key)
        return cipher.decrypt(raw[:12], raw[12:], aad).decode("utf-8")
    except (InvalidTag, ValueError):
        raise VaultIntegrityError(
            "A stored value failed its integrity check: it was altered, or copied from another row, "
            "field or person."
        ) from None


def seal_system(plaintext: str, *, secret: str, context: bytes) -> str:
    """Encrypt ``plaintext`` under the key store's system secret named ``secret``, bound to ``context``.

    For secrets that belong to no data subject (e.g. MFA seeds): the key is a random system secret
    wrapped by the master ring, so it rotates with it. The value has the field format (``v1:``).
    """
    return encrypt(plaintext, key=system_secret(secret), aad=context)


def is_system_sealed(value: str) -> bool:
    """Tell whether ``value`` was written by ``seal_system`` (either format)."""
    return value.startswith((PREFIX, LEGACY_SYSTEM_PREFIX))


def open_system(sealed: str, *, secret: str, context: bytes) -> str:
    """Decrypt a ``seal_system`` value; raise VaultIntegrityError if it was altered or moved.

    Also reads the older ``pacte1:`` format, so values stored before are still readable.
    """
    key = system_secret(secret)
    if not sealed.startswith(LEGACY_SYSTEM_PREFIX):
        return decrypt(sealed, key=key, aad=context)
    try:
        raw = base64.urlsafe_b64decode(sealed.removeprefix(LEGACY_SYSTEM_PREFIX))
        return AESGCM(key).decrypt(raw[:12], raw[12:], context).decode("utf-8")
    except (InvalidTag, ValueError):
        raise VaultIntegrityError(
            "A sealed system value failed its integrity check: it was altered."
        ) from None
