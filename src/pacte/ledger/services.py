"""Writes of the ledger: append an entry (in the caller's transaction), sign a tree head."""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from pacte.core.errors import PacteError
from pacte.core.ports import system_secret
from pacte.ledger import app_settings, error_codes
from pacte.ledger.models import PAYLOAD_KEYS, Entry, EntryType, LedgerState, TreeHead
from pacte.ledger.tree import frontier_append, frontier_root
from pacte.ledger.verifier import canonical_json, key_id, sth_message

ACTOR = re.compile(r"^(system|(subject|staff|api):[0-9A-Za-z_.:-]{1,64})$")
SIGNING_SECRET = "ledger-ed25519"  # noqa: S105 - the name of a secret in the key store, not a secret


def signing_key() -> Ed25519PrivateKey:
    """Return the ledger's Ed25519 signing key (its seed lives wrapped in the vault's key store)."""
    return Ed25519PrivateKey.from_private_bytes(system_secret(SIGNING_SECRET, length=32))


def format_time(moment: datetime.datetime) -> str:
    """RFC 3339 UTC with microseconds: the form hashed into every leaf."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_canonical(entry: Entry) -> dict[str, Any]:
    """Return the fields of ``entry`` exactly as they are hashed (and shown in receipts)."""
    return {
        "seq": entry.seq,
        "time": format_time(entry.time),
        "type": str(entry.type),
        "subject_id": str(entry.subject_id) if entry.subject_id else None,
        "actor": entry.actor,
        "payload": entry.payload,
    }


def entry_leaf_hash(entry: Entry) -> bytes:
    return hashlib.sha256(b"\x00" + canonical_json(entry_canonical(entry))).digest()


def _check_value(key: str, value: Any) -> None:
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, str) and len(value) > 200:
            raise PacteError(f"payload '{key}' is too long for a ledger fact", error_codes.BAD_PAYLOAD)
        return
    if isinstance(value, list) and all(isinstance(item, str) and len(item) <= 100 for item in value):
        return
    raise PacteError(
        f"payload '{key}' must be a string, integer, boolean, null or list of strings",
        error_codes.BAD_PAYLOAD,
    )


def _validate(type: str, actor: str, payload: dict[str, Any]) -> str:
    try:
        kind = EntryType(type)
    except ValueError:
        raise PacteError(f"unknown ledger entry type '{type}'", error_codes.BAD_TYPE) from None
    expected = PAYLOAD_KEYS[kind]
    if set(payload) != expected:
        raise PacteError(
            f"a '{kind.value}' entry takes exactly the payload keys {sorted(expected)}, not {sorted(payload)}",
            error_codes.BAD_PAYLOAD,
        )
    for key, value in payload.items():
        _check_value(key, value)
    if not ACTOR.match(actor):
        raise PacteError(
            "the actor is pseudonymous: 'system', 'subject:<uuid>', 'staff:<uuid>' or 'api:<key id>'",
            error_codes.BAD_ACTOR,
        )
    return kind.value


def _locked_state() -> LedgerState:
    state = LedgerState.objects.select_for_update().filter(pk=1).first()
    if state is None:
        try:
            with transaction.atomic():
                LedgerState.objects.create(pk=1)
        except IntegrityError:
            pass  # created by a concurrent appender
        state = LedgerState.objects.select_for_update().get(pk=1)
    return state


def _read_state_for_update(cursor: Any) -> tuple[int, list] | None:
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cursor.execute(f"SELECT size, frontier FROM ledger_ledgerstate WHERE id = 1{lock}")  # noqa: S608
    row = cursor.fetchone()
    if row is None:
        return None
    frontier = row[1] if isinstance(row[1], list) else json.loads(row[1])
    return int(row[0]), frontier


def _new_entry(
    *, type: EntryType | str, subject_id: uuid.UUID | str | None, actor: str, payload: dict
) -> Entry:
    kind = _validate(str(type), actor, payload)
    return Entry(
        type=kind,
        subject_id=uuid.UUID(str(subject_id)) if subject_id else None,
        actor=actor,
        payload=dict(payload),
    )


def entry_append(
    *, type: EntryType | str, subject_id: uuid.UUID | str | None, actor: str, payload: dict
) -> Entry:
    """Append one fact to the ledger, inside the caller's transaction; return the entry.

    The entry exists if and only if the caller's transaction commits (outside one, once this returns).
    Appends are serialised on the ledger's state row (``SELECT … FOR UPDATE`` on PostgreSQL, the write
    lock of an ``IMMEDIATE`` transaction on SQLite), so concurrent writers get a gap-free total order.
    This is the hottest write path of Pacte: on PostgreSQL it is one call of the ``pacte_ledger_append``
    function (one round trip, migration 0003), elsewhere four statements through one cursor.
    """
    entry = _new_entry(type=type, subject_id=subject_id, actor=actor, payload=payload)
    return _append([entry])[0]


def entry_append_many(*, entries: Iterable[Mapping[str, Any]]) -> list[Entry]:
    """Append several facts in the given order, all or none; return the entries.

    Each item holds the keyword arguments of ``entry_append`` (type, subject_id, actor, payload). Every
    item is checked before anything is written; on PostgreSQL the batch is one round trip and one short
    lock of the state row, whatever its length.
    """
    batch = [
        _new_entry(
            type=item["type"], subject_id=item["subject_id"], actor=item["actor"], payload=item["payload"]
        )
        for item in entries
    ]
    return _append(batch) if batch else []


def _append(entries: list[Entry]) -> list[Entry]:
    if connection.vendor == "postgresql":
        return _append_postgresql(entries)
    return _append_portable(entries)


SEQ_MARK, TIME_MARK = b'"seq":0,', b'"time":""'


def _canonical_pieces(entry: Entry) -> tuple[bytes, bytes, bytes]:
    """Split the canonical JSON of ``entry`` around the two values only known under the lock.

    Returns (head, mid, tail) such that head ‖ seq ‖ mid ‖ time ‖ tail is exactly what
    ``entry_canonical`` encodes. The keys are sorted (actor, payload, seq, subject_id, time, type) and
    JSON escapes every quote inside a string, so the last ``"seq":`` and ``"time":`` are the keys.
    """
    fields = {
        "seq": 0,
        "time": "",
        "type": entry.type,
        "subject_id": str(entry.subject_id) if entry.subject_id else None,
        "actor": entry.actor,
        "payload": entry.payload,
    }
    data = canonical_json(fields)
    cut = data.rindex(SEQ_MARK) + len(SEQ_MARK) - 2  # just after "seq":
    head, rest = data[:cut], data[cut + 1 :]  # drop the placeholder 0
    cut = rest.rindex(TIME_MARK) + len(TIME_MARK) - 1  # just after "time":" (the opening quote)
    return head, rest[:cut], rest[cut:]


# One entry: scalar parameters (psycopg quotes them far faster than arrays); a batch: one array each.
APPEND_ONE = (
    "SELECT o_seq, o_time, o_leaf, o_frontier FROM pacte_ledger_append(ARRAY[%s], ARRAY[%s::uuid], "
    "ARRAY[%s], jsonb_build_array(%s::jsonb), ARRAY[%s::bytea], ARRAY[%s::bytea], ARRAY[%s::bytea], %s)"
)
APPEND_MANY = (
    "SELECT o_seq, o_time, o_leaf, o_frontier FROM pacte_ledger_append("
    "%s::text[], %s::uuid[], %s::text[], %s::jsonb, %s::bytea[], %s::bytea[], %s::bytea[], %s)"
)


def _append_postgresql(entries: list[Entry]) -> list[Entry]:
    pieces = [_canonical_pieces(entry) for entry in entries]
    subjects = [str(entry.subject_id) if entry.subject_id else None for entry in entries]
    every = app_settings.sth_every_entries()
    params: list[Any]
    if len(entries) == 1:
        (entry,), (subject,), (head, mid, tail) = entries, subjects, pieces[0]
        sql = APPEND_ONE
        params = [entry.type, subject, entry.actor, json.dumps(entry.payload), head, mid, tail, every]
    else:
        sql = APPEND_MANY
        params = [
            [entry.type for entry in entries],
            subjects,
            [entry.actor for entry in entries],
            json.dumps([entry.payload for entry in entries]),
            [head for head, _, _ in pieces],
            [mid for _, mid, _ in pieces],
            [tail for _, _, tail in pieces],
            every,
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for entry, (seq, moment, leaf, frontier) in zip(entries, rows, strict=True):
        entry.seq, entry.time, entry.leaf_hash = seq, moment, bytes(leaf)
        if frontier is not None:  # a tree head is due at this size
            frontier = frontier if isinstance(frontier, list) else json.loads(frontier)
            _sign(LedgerState(pk=1, size=seq + 1, frontier=frontier))
    return entries


def _append_portable(entries: list[Entry]) -> list[Entry]:
    every = app_settings.sth_every_entries()
    with transaction.atomic(), connection.cursor() as cursor:
        current = _read_state_for_update(cursor)
        if current is None:
            _locked_state()
            current = _read_state_for_update(cursor)
            assert current is not None
        size, stored_frontier = current
        frontier = [(int(level), bytes.fromhex(value)) for level, value in stored_frontier]
        ops = connection.ops
        subject_field = Entry._meta.get_field("subject_id")
        payload_field = Entry._meta.get_field("payload")
        due = []
        for entry in entries:
            entry.seq = size
            entry.time = timezone.now()
            leaf = entry.leaf_hash = entry_leaf_hash(entry)
            frontier, completed = frontier_append(frontier, leaf, size)
            cursor.execute(
                "INSERT INTO ledger_entry (seq, time, type, subject_id, actor, payload, leaf_hash) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [
                    size,
                    ops.adapt_datetimefield_value(entry.time),
                    entry.type,
                    subject_field.get_db_prep_value(entry.subject_id, connection),
                    entry.actor,
                    payload_field.get_db_prep_value(entry.payload, connection),
                    leaf,
                ],
            )
            cursor.executemany(
                'INSERT INTO ledger_node (level, "index", hash, completed_at) VALUES (%s, %s, %s, %s)',
                [(level, index, value, size) for level, index, value in [(0, size, leaf), *completed]],
            )
            size += 1
            if size % every == 0:
                due.append(
                    LedgerState(pk=1, size=size, frontier=[[lv, value.hex()] for lv, value in frontier])
                )
        new_frontier = [[level, value.hex()] for level, value in frontier]
        cursor.execute(
            "UPDATE ledger_ledgerstate SET size = %s, frontier = %s WHERE id = 1",
            [size, LedgerState._meta.get_field("frontier").get_db_prep_value(new_frontier, connection)],
        )
        for state in due:
            _sign(state)
    return entries


def _sign(state: LedgerState) -> TreeHead:
    existing = TreeHead.objects.filter(tree_size=state.size).first()
    if existing is not None:
        return existing
    root = frontier_root([(int(level), bytes.fromhex(value)) for level, value in state.frontier])
    timestamp = int(time.time() * 1000)
    key = signing_key()
    head = TreeHead(
        tree_size=state.size,
        root_hash=root,
        timestamp=timestamp,
        signature=key.sign(sth_message(state.size, timestamp, root)),
        key_id=key_id(key.public_key()),
    )
    head.save(force_insert=True)
    return head


def sth_sign() -> TreeHead | None:
    """Sign a tree head for the current size now (None while the ledger is empty)."""
    with transaction.atomic():
        state = _locked_state()
        if state.size == 0:
            return None
        return _sign(state)


def sth_sign_if_due() -> TreeHead | None:
    """Sign a tree head if entries were added and the last head is older than the configured period."""
    state = LedgerState.objects.filter(pk=1).first()
    if state is None or state.size == 0:
        return None
    last = TreeHead.objects.order_by("-tree_size").first()
    if last is not None and last.tree_size >= state.size:
        return None
    if last is not None and time.time() * 1000 - last.timestamp < app_settings.sth_every_seconds() * 1000:
        return None
    return sth_sign()
