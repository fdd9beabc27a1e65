"""Reads of the ledger: proofs, receipts, the public key, and the full verification."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization

from pacte.core.errors import PacteError
from pacte.ledger import error_codes
from pacte.ledger.models import Entry, LedgerState, Node, TreeHead
from pacte.ledger.services import entry_canonical, entry_leaf_hash, signing_key, sth_sign
from pacte.ledger.tree import Hashes, consistency_path, frontier_root, inclusion_path
from pacte.ledger.verifier import (
    VerificationError,
    key_id,
    load_public_key,
    node_hash,
    verify_consistency,
    verify_receipt,
    verify_tree_head,
)


def stored_hashes() -> Hashes:
    """Subtree hashes as stored: leaves from entries, perfect subtrees from nodes."""

    def perfect(level: int, index: int) -> bytes:
        return bytes(Node.objects.values_list("hash", flat=True).get(level=level, index=index))

    return Hashes(perfect)


def ledger_size() -> int:
    """Return how many entries the ledger holds."""
    state = LedgerState.objects.filter(pk=1).first()
    return state.size if state else 0


def ledger_root() -> bytes:
    """Return the current root hash (from the stored frontier)."""
    state = LedgerState.objects.filter(pk=1).first()
    return frontier_root([(int(lv), bytes.fromhex(h)) for lv, h in (state.frontier if state else [])])


def entry_rows(*, subject_id: uuid.UUID | str, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
    """Yield the entries about one subject as plain rows (seq, time, type, actor, payload), oldest first."""
    rows = Entry.objects.filter(subject_id=subject_id).order_by("seq")
    columns = rows.values_list("seq", "time", "type", "actor", "payload")  # no instances, no hashes
    for seq, time, type_, actor, payload in columns.iterator(chunk_size=chunk_size):
        yield {"seq": seq, "time": time.isoformat(), "type": type_, "actor": actor, "payload": payload}


def entry_count(*, subject_id: uuid.UUID | str) -> int:
    """Return how many entries are about one subject."""
    return Entry.objects.filter(subject_id=subject_id).count()


def entry_seqs(*, subject_id: uuid.UUID | str, types: Iterable[str]) -> list[int]:
    """Return the sequence numbers of one subject's entries of the given types, oldest first."""
    rows = Entry.objects.filter(subject_id=subject_id, type__in=list(types)).order_by("seq")
    return list(rows.values_list("seq", flat=True))


def inclusion_proof(*, seq: int, tree_size: int) -> list[bytes]:
    """Return the inclusion proof of entry ``seq`` in the tree of ``tree_size`` entries."""
    return inclusion_path(stored_hashes(), seq, tree_size)


def consistency_proof(*, first: int, second: int) -> list[bytes]:
    """Return the proof that the tree of ``second`` entries extends the one of ``first``."""
    return consistency_path(stored_hashes(), first, second)


def public_key_pem() -> str:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_key_jwk() -> dict[str, str]:
    public = signing_key().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
        "kid": key_id(public),
        "use": "sig",
        "alg": "EdDSA",
    }


def receipt_build(*, seq: int) -> dict[str, Any]:
    """Return the receipt of entry ``seq``: the entry, its inclusion proof and a signed tree head."""
    entry = Entry.objects.filter(seq=seq).first()
    if entry is None:
        raise PacteError("There is no ledger entry with this number.", error_codes.NO_ENTRY, status=404)
    head = TreeHead.objects.filter(tree_size__gt=seq).order_by("tree_size").first() or sth_sign()
    assert head is not None
    return {
        "format": "pacte-receipt-v1",
        "entry": entry_canonical(entry),
        "leaf_index": seq,
        "inclusion_proof": [h.hex() for h in inclusion_proof(seq=seq, tree_size=head.tree_size)],
        "tree_head": head.as_dict(),
        "key_id": head.key_id,
        "public_key_pem": public_key_pem(),
    }


@dataclass
class VerifyReport:
    ok: bool
    entries: int
    heads: int
    problem: str = ""
    bad_seq: int | None = None


def ledger_verify(*, chunk_size: int = 5000) -> VerifyReport:
    """Recompute every leaf, the tree, every signed head and their consistency; stop at the first fault.

    Streams the entries in order keeping only the O(log n) frontier in memory.
    """
    public = signing_key().public_key()
    heads = list(TreeHead.objects.order_by("tree_size"))
    head_at = {head.tree_size: head for head in heads}
    frontier: list[tuple[int, bytes]] = []
    expected = 0
    nodes = Node.objects.order_by("completed_at", "level").values_list(
        "completed_at", "level", "index", "hash"
    )
    node_stream = nodes.iterator(chunk_size=chunk_size)
    pending: list[tuple[int, int, int, bytes | memoryview]] = []

    def stored_nodes_of(seq: int) -> dict[tuple[int, int], bytes]:
        """Return the nodes completed by entry ``seq`` (the stream is ordered by completion)."""
        found = {}
        while True:
            if not pending:
                row = next(node_stream, None)
                if row is None:
                    break
                pending.append(row)
            completed_at, level, index, value = pending[0]
            if completed_at > seq:
                break
            pending.pop(0)
            if completed_at == seq:
                found[(level, index)] = bytes(value)
        return found

    def fail(problem: str, seq: int | None) -> VerifyReport:
        return VerifyReport(False, expected, len(heads), problem, seq)

    for entry in Entry.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if entry.seq != expected:
            if entry.seq > expected:
                return fail(f"entry {expected} is missing (next stored entry is {entry.seq})", expected)
            return fail(f"entry {entry.seq} appears twice", entry.seq)
        recomputed = entry_leaf_hash(entry)
        node_hashes = stored_nodes_of(entry.seq)
        if recomputed != bytes(entry.leaf_hash) or node_hashes.get((0, entry.seq)) != recomputed:
            return fail(
                f"entry {entry.seq}: its content does not match its leaf in the tree (altered)", entry.seq
            )
        level, current = 0, recomputed
        while frontier and frontier[-1][0] == level:
            _, left = frontier.pop()
            current = node_hash(left, current)
            level += 1
            index = ((expected + 1) >> level) - 1
            if node_hashes.get((level, index)) != current:
                first = index << level
                return fail(
                    f"entries {first}–{first + (1 << level) - 1}: stored subtree hash differs from the entries",
                    first,
                )
        frontier.append((level, current))
        expected += 1
        head = head_at.get(expected)
        if head is not None and frontier_root(frontier) != bytes(head.root_hash):
            return fail(f"signed tree head {expected}: its root does not match the entries", expected - 1)
    state_size = ledger_size()
    if expected != state_size:
        return fail(f"the ledger says it holds {state_size} entries but {expected} are stored", expected)
    if frontier_root(frontier) != ledger_root():
        return fail("the stored frontier does not match the entries", None)
    previous: TreeHead | None = None
    for head in heads:
        if head.tree_size > expected:
            return fail(f"signed tree head {head.tree_size} covers entries that do not exist", expected)
        try:
            if head.key_id != key_id(public):
                raise VerificationError("signed by another key")
            verify_tree_head(head.as_dict(), public)
            if previous is not None:
                proof = consistency_proof(first=previous.tree_size, second=head.tree_size)
                verify_consistency(
                    previous.tree_size,
                    head.tree_size,
                    bytes(previous.root_hash),
                    bytes(head.root_hash),
                    proof,
                )
        except VerificationError as error:
            return fail(f"signed tree head {head.tree_size}: {error}", head.tree_size - 1)
        previous = head
    return VerifyReport(True, expected, len(heads))


def receipt_check(receipt: dict[str, Any]) -> None:
    """Verify a receipt against this ledger's key (raises VerificationError)."""
    verify_receipt(receipt, load_public_key(public_key_pem()))
