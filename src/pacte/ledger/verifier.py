"""Verify Pacte ledger receipts offline. Pure Python + `cryptography`; no Django.

Usage:  python -m pacte.ledger.verifier RECEIPT.json --key ledger-key.pem

Everything here is specified in docs/receipts.md so that anyone can re-implement it:
- leaf hash   = SHA-256(0x00 ‖ canonical JSON of the entry)         (RFC 9162 §2.1.1)
- node hash   = SHA-256(0x01 ‖ left ‖ right)
- inclusion and consistency proofs are verified with RFC 9162 §2.1.3.2 and §2.1.4.2;
- a signed tree head signs  b"pacte-sth-v1" ‖ tree_size (u64 BE) ‖ timestamp_ms (u64 BE) ‖ root (32 bytes)
  with Ed25519; key id = hex SHA-256 of the 32-byte raw public key.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

STH_PREFIX = b"pacte-sth-v1"
ENTRY_FIELDS = ("actor", "payload", "seq", "subject_id", "time", "type")


class VerificationError(Exception):
    """The receipt, proof or signature does not hold."""


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` canonically: sorted keys, no spaces, UTF-8, no floats."""

    def check(item: Any) -> None:
        if isinstance(item, float):
            raise VerificationError("floats are not allowed in ledger entries")
        if isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise VerificationError("object keys must be strings")
                check(sub)
        elif isinstance(item, list):
            for sub in item:
                check(sub)

    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def leaf_hash(entry: dict[str, Any]) -> bytes:
    """Return the RFC 9162 leaf hash of an entry given as its canonical fields."""
    if set(entry) != set(ENTRY_FIELDS):
        raise VerificationError(f"an entry has exactly the fields {', '.join(ENTRY_FIELDS)}")
    return hashlib.sha256(b"\x00" + canonical_json(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _lsb(value: int) -> bool:
    return bool(value & 1)


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` is at ``index`` of the tree of ``size`` whose root is ``root``."""
    if index >= size:
        raise VerificationError("leaf index is outside the tree")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise VerificationError("inclusion proof is too long")
        if _lsb(fn) or fn == sn:
            r = node_hash(p, r)
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise VerificationError("inclusion proof does not lead to the signed root")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> None:
    """Check that the tree of size ``second`` extends the tree of size ``first`` (append-only)."""
    if first > second:
        raise VerificationError("a tree cannot shrink")
    if first == second:
        if path or first_root != second_root:
            raise VerificationError("two heads of the same size must have the same root and an empty proof")
        return
    if first == 0:
        if path:
            raise VerificationError("the empty tree needs an empty proof")
        return
    if not path:
        raise VerificationError("consistency proof is empty")
    proof = list(path)
    if first & (first - 1) == 0:
        proof.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while _lsb(fn):
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise VerificationError("consistency proof is too long")
        if _lsb(fn) or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not _lsb(fn):
                while not _lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if fr != first_root or sr != second_root or sn != 0:
        raise VerificationError("consistency proof does not match the two roots")


def sth_message(tree_size: int, timestamp_ms: int, root: bytes) -> bytes:
    return STH_PREFIX + struct.pack(">QQ", tree_size, timestamp_ms) + root


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public_key(pem: bytes | str) -> Ed25519PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise VerificationError("the ledger key is an Ed25519 public key")
    return key


def verify_tree_head(head: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """Check a signed tree head's Ed25519 signature."""
    try:
        message = sth_message(
            int(head["tree_size"]), int(head["timestamp"]), bytes.fromhex(head["root_hash"])
        )
        public_key.verify(bytes.fromhex(head["signature"]), message)
    except (InvalidSignature, KeyError, ValueError):
        raise VerificationError("the tree head's signature is not valid for this key") from None


def verify_receipt(receipt: dict[str, Any], public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Verify a receipt completely; return its entry. Raise VerificationError otherwise."""
    if receipt.get("format") != "pacte-receipt-v1":
        raise VerificationError("not a pacte-receipt-v1 document")
    if receipt.get("key_id") != key_id(public_key):
        raise VerificationError("the receipt was signed by another key than the one given")
    entry = receipt["entry"]
    head = receipt["tree_head"]
    verify_tree_head(head, public_key)
    if int(entry["seq"]) != int(receipt["leaf_index"]):
        raise VerificationError("the entry's sequence number is not its leaf index")
    verify_inclusion(
        leaf_hash(entry),
        int(receipt["leaf_index"]),
        int(head["tree_size"]),
        [bytes.fromhex(p) for p in receipt["inclusion_proof"]],
        bytes.fromhex(head["root_hash"]),
    )
    return entry


BUNDLE_FORMATS = ("pacte-consent-receipts-v1",)


def receipts_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the receipts a document holds: itself (one receipt) or each receipt of a bundle."""
    if document.get("format") in BUNDLE_FORMATS:
        receipts = document.get("receipts")
        if not isinstance(receipts, list):
            raise VerificationError(f"a {document['format']} bundle must hold a list of receipts")
        return receipts
    return [document]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pacte.ledger.verifier",
        description="Verify a Pacte receipt, or every receipt of a bundle (such as the proof of one's "
        "consents), offline.",
    )
    parser.add_argument("receipt", help="the receipt or bundle of receipts (JSON)")
    parser.add_argument("--key", help="the ledger's public key (PEM); default: the one inside each receipt")
    args = parser.parse_args(argv)
    try:
        with open(args.receipt, encoding="utf-8") as handle:
            document = json.load(handle)
        if not isinstance(document, dict):
            raise VerificationError("not a Pacte receipt or bundle of receipts")
        receipts = receipts_of(document)
        given = None
        if args.key:
            with open(args.key, "rb") as handle:
                given = load_public_key(handle.read())
    except (OSError, ValueError, VerificationError) as error:
        print(f"{args.receipt}: NOT VALID — {error}", file=sys.stderr)
        return 1
    bad = 0
    for number, receipt in enumerate(receipts, start=1):
        where = args.receipt if len(receipts) == 1 and receipt is document else f"{args.receipt} #{number}"
        try:
            key = given or load_public_key(str(receipt.get("public_key_pem", "")).encode())
            entry = verify_receipt(receipt, key)
        except (AttributeError, ValueError, KeyError, TypeError, VerificationError) as error:
            print(f"{where}: NOT VALID — {error}", file=sys.stderr)
            bad += 1
            continue
        print(
            f"{where}: valid — entry {entry['seq']} ({entry['type']}) is in the ledger signed by key "
            f"{receipt['key_id'][:16]}…"
        )
    if document.get("format") in BUNDLE_FORMATS:
        print(f"{len(receipts) - bad} of {len(receipts)} receipts valid")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
