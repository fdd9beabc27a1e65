"""The ledger: RFC 9162 proofs, atomic appends, tamper detection, receipts checked offline."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections, transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacte.core.errors import PacteError
from pacte.ledger import selectors, services
from pacte.ledger.models import Entry, LedgerState, Node, TreeHead
from pacte.ledger.tasks import ledger_sign_if_due
from pacte.ledger.tree import Hashes, consistency_path, frontier_append, frontier_root, inclusion_path
from pacte.ledger.verifier import (
    VerificationError,
    node_hash,
    verify_consistency,
    verify_inclusion,
    verify_receipt,
)
from pacte.vault.keyring import system_secret

DBS = ["default", "keys"]
REPO = Path(__file__).resolve().parents[4]


# --- the tree, against the RFC's recursive definition ------------------------------------------


def _mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k << 1 < len(leaves):
        k <<= 1
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(b"\x00" + str(i).encode()).digest() for i in range(n)]


def _memory_tree(leaves: list[bytes]) -> Hashes:
    return Hashes(lambda level, index: _mth(leaves[index << level : (index + 1) << level]))


def test_frontier_root_equals_the_rfc_tree_hash_for_every_size_up_to_70() -> None:
    leaves = _leaves(70)
    frontier: list = []
    for n, leaf in enumerate(leaves):
        frontier, completed = frontier_append(frontier, leaf, n)
        for level, index, value in completed:
            assert value == _mth(leaves[index << level : (index + 1) << level])
        assert frontier_root(frontier) == _mth(leaves[: n + 1])


def test_every_inclusion_and_consistency_proof_verifies_up_to_33_leaves() -> None:
    leaves = _leaves(33)
    hashes = _memory_tree(leaves)
    for size in range(1, 34):
        root = _mth(leaves[:size])
        for index in range(size):
            verify_inclusion(leaves[index], index, size, inclusion_path(hashes, index, size), root)
        for first in range(1, size + 1):
            proof = consistency_path(hashes, first, size)
            verify_consistency(first, size, _mth(leaves[:first]), root, proof)


def test_a_wrong_proof_is_refused() -> None:
    leaves = _leaves(13)
    hashes = _memory_tree(leaves)
    root = _mth(leaves)
    path = inclusion_path(hashes, 5, 13)
    with pytest.raises(VerificationError):
        verify_inclusion(leaves[6], 5, 13, path, root)
    with pytest.raises(VerificationError):
        verify_inclusion(leaves[5], 5, 13, path[:-1], root)
    with pytest.raises(VerificationError):
        verify_consistency(5, 13, _mth(leaves[:6]), root, consistency_path(hashes, 5, 13))


# --- appending ------------------------------------------------------------------------------------


def _append(i: int = 0, subject: uuid.UUID | None = None) -> Entry:
    return services.entry_append(
        type="consent.granted",
        subject_id=subject or uuid.uuid4(),
        actor="system",
        payload={"purpose": "newsletter", "policy_version": 1, "source": f"portal{i % 3}"},
    )


@pytest.mark.django_db(databases=DBS)
def test_entries_get_consecutive_numbers_and_the_log_verifies() -> None:
    entries = [_append(i) for i in range(20)]
    assert [e.seq for e in entries] == list(range(20))
    services.sth_sign()
    report = selectors.ledger_verify()
    assert report.ok and report.entries == 20 and report.heads == 1


@pytest.mark.django_db(databases=DBS)
@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"type": "sale", "payload": {}}, "ledger.bad_type"),
        ({"type": "consent.granted", "payload": {"purpose": "x"}}, "ledger.bad_payload"),
        (
            {"type": "rectification", "payload": {"field": "name", "source": "portal", "value": "Jean"}},
            "ledger.bad_payload",
        ),
        ({"type": "rectification", "payload": {"field": {"x": 1}, "source": "portal"}}, "ledger.bad_payload"),
        (
            {"type": "account.reactivated", "payload": {}, "actor": "jean.dupont@example.fr"},
            "ledger.bad_actor",
        ),
    ],
)
def test_bad_entries_are_refused_and_nothing_is_written(kwargs: dict, code: str) -> None:
    arguments = {"subject_id": None, "actor": "system", **kwargs}
    with pytest.raises(PacteError) as raised:
        services.entry_append(**arguments)
    assert raised.value.code == code
    assert Entry.objects.count() == 0 and selectors.ledger_size() == 0


@pytest.mark.django_db(databases=DBS)
def test_an_entry_appended_in_a_rolled_back_transaction_does_not_exist() -> None:
    _append(0)
    with pytest.raises(RuntimeError), transaction.atomic():
        _append(1)
        raise RuntimeError("the caller's change failed")
    assert list(Entry.objects.values_list("seq", flat=True)) == [0]
    assert selectors.ledger_size() == 1
    assert _append(2).seq == 1
    assert selectors.ledger_verify().ok


@pytest.mark.django_db(databases=DBS)
def test_tree_heads_are_signed_every_n_entries(monkeypatch) -> None:
    monkeypatch.setenv("PACTE_LEDGER_STH_EVERY_ENTRIES", "4")
    for i in range(10):
        _append(i)
    assert list(TreeHead.objects.values_list("tree_size", flat=True)) == [4, 8]
    assert selectors.ledger_verify().ok


@pytest.mark.django_db(databases=DBS)
def test_a_batch_gets_consecutive_numbers_heads_where_due_and_verifies(monkeypatch) -> None:
    monkeypatch.setenv("PACTE_LEDGER_STH_EVERY_ENTRIES", "4")
    _append(0)
    subject = uuid.uuid4()
    batch = services.entry_append_many(
        entries=[
            {
                "type": "rights.step",
                "subject_id": subject,
                "actor": "system",
                "payload": {"request_id": f"r{i}", "kind": "erasure", "step": "received"},
            }
            for i in range(9)
        ]  # fmt: skip
    )
    assert [e.seq for e in batch] == list(range(1, 10))
    assert list(
        Entry.objects.filter(subject_id=subject).order_by("seq").values_list("seq", flat=True)
    ) == list(range(1, 10))
    assert [e.leaf_hash for e in batch] == [services.entry_leaf_hash(e) for e in batch]
    assert list(TreeHead.objects.values_list("tree_size", flat=True)) == [4, 8]
    assert services.entry_append_many(entries=[]) == []
    assert _append(10).seq == 10
    report = selectors.ledger_verify()
    assert report.ok and report.entries == 11
    for seq in (0, 5, 9):
        verify_receipt(selectors.receipt_build(seq=seq), services.signing_key().public_key())


@pytest.mark.django_db(databases=DBS)
def test_a_batch_with_one_bad_entry_writes_nothing() -> None:
    good = {"type": "account.reactivated", "subject_id": None, "actor": "system", "payload": {}}
    with pytest.raises(PacteError) as raised:
        services.entry_append_many(entries=[good, {**good, "actor": "jean@example.fr"}])
    assert raised.value.code == "ledger.bad_actor"
    assert Entry.objects.count() == 0 and selectors.ledger_size() == 0


@pytest.mark.django_db(databases=DBS)
def test_payloads_that_look_like_the_hashed_keys_hash_exactly_as_python_does() -> None:
    # The PostgreSQL append fills in seq and time inside the canonical JSON it is given; a payload that
    # spells those keys (quotes escaped by JSON) or holds non-ASCII text must not move them.
    tricky = ['x","seq":0,"time":""', '"time":"","type":"x"}', "Zoë — « reçu » 日本", "\\u0000\\"]
    entries = [
        services.entry_append(
            type="rectification",
            subject_id=None,
            actor="staff:a.b",
            payload={"field": value, "source": value},
        )
        for value in tricky
    ]
    for entry in entries:
        stored = Entry.objects.get(seq=entry.seq)
        assert bytes(stored.leaf_hash) == services.entry_leaf_hash(stored) == entry.leaf_hash
        assert stored.time == entry.time and stored.payload == entry.payload
    assert selectors.ledger_verify().ok


# --- tampering -------------------------------------------------------------------------------------


def _raw_update(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # bypass the append-only trigger
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
@pytest.mark.django_db(databases=DBS)
def test_any_tampering_is_found_at_the_right_place(data) -> None:
    for table in ("ledger_entry", "ledger_node", "ledger_treehead", "ledger_ledgerstate"):
        _raw_update(f"DELETE FROM {table}", [])  # each example starts from an empty ledger
    n = 12
    subject = uuid.uuid4()
    for i in range(n):
        _append(i, subject)
    services.sth_sign()
    assert selectors.ledger_verify().ok
    kind = data.draw(st.sampled_from(["byte", "delete", "reorder", "insert", "actor"]))
    target = data.draw(st.integers(min_value=0, max_value=n - 2))
    if kind == "byte":
        entry = Entry.objects.get(seq=target)
        text = json.dumps(entry.payload)
        position = data.draw(st.integers(min_value=0, max_value=len(entry.payload["source"]) - 1))
        source = entry.payload["source"]
        changed = source[:position] + chr((ord(source[position]) + 1) % 128 or 65) + source[position + 1 :]
        assert changed != source and text
        _raw_update(
            "UPDATE ledger_entry SET payload = %s WHERE seq = %s",
            [json.dumps({**entry.payload, "source": changed}), target],
        )
        expected = target
    elif kind == "actor":
        _raw_update("UPDATE ledger_entry SET actor = %s WHERE seq = %s", ["staff:intruder", target])
        expected = target
    elif kind == "delete":
        _raw_update("DELETE FROM ledger_entry WHERE seq = %s", [target])
        expected = target
    elif kind == "reorder":
        first, second = Entry.objects.get(seq=target), Entry.objects.get(seq=target + 1)
        _raw_update(
            "UPDATE ledger_entry SET payload = %s WHERE seq = %s", [json.dumps(second.payload), target]
        )
        _raw_update(
            "UPDATE ledger_entry SET payload = %s WHERE seq = %s", [json.dumps(first.payload), target + 1]
        )
        expected = target if first.payload != second.payload else None
    else:  # insert: shift every later entry by one and put a forged one in the gap
        for seq in range(n - 1, target - 1, -1):
            _raw_update("UPDATE ledger_entry SET seq = %s WHERE seq = %s", [seq + 1, seq])
        forged = Entry(seq=target, time=Entry.objects.get(seq=target + 1).time, type="consent.granted",
                       subject_id=subject, actor="system",
                       payload={"purpose": "promotions", "policy_version": 1, "source": "portal"})  # fmt: skip
        forged.leaf_hash = services.entry_leaf_hash(forged)
        forged.save(force_insert=True)
        expected = target  # the forged entry hashes to itself, but not to the leaf the tree holds there
    report = selectors.ledger_verify()
    if expected is None:
        assert report.ok
    else:
        assert not report.ok
        assert report.bad_seq == expected, report.problem


@pytest.mark.django_db(databases=DBS)
def test_forged_leaf_hash_is_caught_by_the_stored_tree() -> None:
    for i in range(8):
        _append(i)
    entry = Entry.objects.get(seq=5)
    entry.payload = {**entry.payload, "purpose": "promotions"}
    _raw_update(
        "UPDATE ledger_entry SET payload = %s, leaf_hash = %s WHERE seq = %s",
        [json.dumps(entry.payload), services.entry_leaf_hash(entry), 5],
    )
    report = selectors.ledger_verify()
    assert not report.ok and report.bad_seq == 5 and "leaf in the tree" in report.problem
    # Forge the stored leaf too: the next stored subtree (entries 4–5) no longer matches.
    _raw_update(
        'UPDATE ledger_node SET hash = %s WHERE level = 0 AND "index" = 5', [services.entry_leaf_hash(entry)]
    )
    report = selectors.ledger_verify()
    assert not report.ok and report.bad_seq == 4 and "subtree" in report.problem


@pytest.mark.postgres
@pytest.mark.django_db(databases=DBS)
def test_postgres_refuses_update_and_delete_of_history() -> None:
    _append(0)
    services.sth_sign()
    for sql in (
        "UPDATE ledger_entry SET actor = 'system' WHERE seq = 0",
        "DELETE FROM ledger_entry WHERE seq = 0",
        "DELETE FROM ledger_treehead",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert Entry.objects.count() == 1 and TreeHead.objects.count() == 1


# --- receipts and the public key ------------------------------------------------------------------


@pytest.mark.django_db(databases=DBS)
def test_a_receipt_verifies_offline_with_only_the_public_key_and_a_tampered_one_does_not(tmp_path) -> None:
    subject = uuid.uuid4()
    for i in range(9):
        _append(i, subject)
    receipt = selectors.receipt_build(seq=6)
    key = tmp_path / "ledger-key.pem"
    key.write_text(Client().get("/.well-known/pacte/ledger-key").content.decode())
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(receipt))
    # The verifier runs without Django and without any database: a fresh interpreter, no settings.
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO / "src")}
    ok = subprocess.run(
        [sys.executable, "-m", "pacte.ledger.verifier", str(good), "--key", str(key)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout
    receipt["entry"]["payload"]["purpose"] = "promotions"
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(receipt))
    refused = subprocess.run(
        [sys.executable, "-m", "pacte.ledger.verifier", str(bad), "--key", str(key)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert refused.returncode == 1
    assert "NOT VALID" in refused.stderr


@pytest.mark.django_db(databases=DBS)
def test_receipt_is_refused_with_another_key(tmp_path) -> None:

    _append(0)
    receipt = selectors.receipt_build(seq=0)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(VerificationError):
        verify_receipt(receipt, other)
    assert other.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@pytest.mark.django_db(databases=DBS)
def test_public_key_is_served_as_pem_and_jwk() -> None:
    pem = Client().get("/.well-known/pacte/ledger-key")
    assert pem.status_code == 200
    assert pem.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    jwk = Client().get("/.well-known/pacte/ledger-key.jwk").json()["keys"][0]
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519" and len(jwk["kid"]) == 64
    assert Client().get("/.well-known/pacte/ledger-key?format=jwk").json()["keys"][0] == jwk


@pytest.mark.django_db(databases=DBS)
def test_cli_verify_and_receipt_commands(tmp_path) -> None:
    for i in range(5):
        _append(i)
    out = tmp_path / "r.json"
    call_command("ledger", "receipt", "3", "--out", str(out))
    call_command("receipt", "verify", str(out))
    call_command("ledger", "verify")
    _raw_update("UPDATE ledger_entry SET actor = %s WHERE seq = %s", ["staff:x", 2])
    with pytest.raises(CommandError, match="first bad sequence number 2"):
        call_command("ledger", "verify")


# --- concurrency on PostgreSQL ------------------------------------------------------------------

WORKER = """
import os, uuid, django
os.environ["DJANGO_SETTINGS_MODULE"] = "pacte.settings"
django.setup()
from pacte.ledger.services import entry_append, entry_append_many
def fact(i):
    return dict(type="rights.step", subject_id=uuid.uuid4(), actor="system",
                payload={{"request_id": "r{worker}-" + str(i), "kind": "access", "step": "received"}})
if {worker} % 2:  # two workers append in batches of 10, two one by one
    for start in range(0, {count}, 10):
        entry_append_many(entries=[fact(i) for i in range(start, start + 10)])
else:
    for i in range({count}):
        entry_append(**fact(i))
"""


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(databases=DBS, transaction=True)
def test_four_processes_appending_at_once_get_a_gap_free_order_and_every_proof_holds() -> None:
    env = dict(os.environ)
    for alias, var in (("default", "DATABASE_URL"), ("keys", "PACTE_KEYS_DATABASE_URL")):
        s = connections[alias].settings_dict
        env[var] = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"

    system_secret("ledger-ed25519")  # the key exists before the race (its creation is race-safe anyway)
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER.format(count=1000, worker=w)], env=env)
        for w in range(4)
    ]
    assert [w.wait(timeout=300) for w in workers] == [0, 0, 0, 0]
    total = 4000
    rows = list(Entry.objects.order_by("seq").values_list("seq", "payload"))
    assert [seq for seq, _ in rows] == list(range(total))
    assert LedgerState.objects.get(pk=1).size == total
    assert (
        Node.objects.filter(level=0).count() == total and Node.objects.filter(level=1).count() == total // 2
    )
    for w in range(4):  # each process's facts are in the order it appended them
        mine = [int(p["request_id"].split("-")[1]) for _, p in rows if p["request_id"].startswith(f"r{w}-")]
        assert mine == list(range(1000))
    head = services.sth_sign()
    assert head is not None and head.tree_size == total
    report = selectors.ledger_verify()
    assert report.ok, report.problem
    assert report.entries == total and report.heads == TreeHead.objects.count() == total // 256 + 1
    nodes = {(lv, ix): bytes(h) for lv, ix, h in Node.objects.values_list("level", "index", "hash")}
    hashes = Hashes(lambda level, index: nodes[(level, index)])
    root = bytes(head.root_hash)
    leaves = dict(Entry.objects.values_list("seq", "leaf_hash"))
    for seq in range(total):  # every entry is provably in the final tree
        verify_inclusion(bytes(leaves[seq]), seq, total, inclusion_path(hashes, seq, total), root)
    for earlier in TreeHead.objects.exclude(tree_size=total):  # every earlier head is a prefix of it
        proof = consistency_path(hashes, earlier.tree_size, total)
        verify_consistency(earlier.tree_size, total, bytes(earlier.root_hash), root, proof)


@pytest.mark.django_db(databases=DBS)
def test_a_head_is_signed_when_due_and_not_twice(monkeypatch) -> None:
    monkeypatch.setenv("PACTE_LEDGER_STH_EVERY_SECONDS", "3600")
    assert services.sth_sign_if_due() is None  # empty ledger
    _append(0)
    first = services.sth_sign_if_due()
    assert first is not None and first.tree_size == 1
    _append(1)
    assert services.sth_sign_if_due() is None  # the last head is younger than an hour
    monkeypatch.setenv("PACTE_LEDGER_STH_EVERY_SECONDS", "0")
    second = services.sth_sign_if_due()
    assert second is not None and second.tree_size == 2
    assert services.sth_sign_if_due() is None  # nothing new since

    assert ledger_sign_if_due.call() is None
