"""Streaming encryption: round trip, every kind of alteration refused, flat memory, key destruction."""

from __future__ import annotations

import io
import os
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacte.subjects.services import subject_create
from pacte.vault import services, stream
from pacte.vault.errors import VaultIntegrityError

KEY = bytes(range(32))
CONTEXT = "subject|account|rights.export|1"


def _seal(plain: bytes, *, chunk_size: int = 16, writes: int = 7, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    writer = stream.EncryptingWriter(out, key=key, context=CONTEXT, chunk_size=chunk_size)
    for start in range(0, len(plain), writes):
        assert writer.write(plain[start : start + writes]) == len(plain[start : start + writes])
    writer.finish()
    return out.getvalue()


def _open(blob: bytes, *, key: bytes = KEY, context: str = CONTEXT) -> bytes:
    return b"".join(stream.decrypt_chunks(io.BytesIO(blob), key=key, context=context))


@settings(max_examples=60, deadline=None)
@given(plain=st.binary(max_size=200), chunk_size=st.integers(1, 40), writes=st.integers(1, 90))
def test_any_plaintext_written_in_any_pieces_reads_back_the_same(plain, chunk_size, writes) -> None:
    blob = _seal(plain, chunk_size=chunk_size, writes=writes)
    assert _open(blob) == plain
    assert stream.plaintext_size(io.BytesIO(blob), len(blob)) == len(plain)
    segments = max(1, -(-len(plain) // chunk_size))  # the last chunk holds 1..chunk_size bytes
    assert len(blob) == stream.HEADER_SIZE + len(plain) + stream.TAG_SIZE * segments


def test_the_file_shows_nothing_of_its_content_and_each_file_differs() -> None:
    plain = b"PK\x03\x04" + b"Alice Martin, 1 rue Alpha, alice.martin@example.fr " * 500
    first, second = _seal(plain, chunk_size=1024), _seal(plain, chunk_size=1024)
    for blob in (first, second):
        assert blob[:5] == b"PSTR\x01"
        assert b"PK\x03\x04" not in blob and b"Alice" not in blob and b"alpha" not in blob.lower()
    assert first[5:] != second[5:]  # a fresh salt and nonce prefix per file: a fresh file key


def _refused(blob: bytes, **kwargs) -> str:
    with pytest.raises(VaultIntegrityError) as caught:
        _open(blob, **kwargs)
    return str(caught.value.message)


def test_truncated_extended_reordered_or_altered_files_are_refused() -> None:
    plain = os.urandom(100)
    blob = _seal(plain, chunk_size=16)
    segment = 16 + stream.TAG_SIZE
    body = stream.HEADER_SIZE
    # Cut at a segment boundary: every remaining segment is authentic, but none is marked final.
    assert "integrity" in _refused(blob[: body + 3 * segment])
    assert "cut short" in _refused(blob[: body + 3 * segment + 5])  # cut inside the final segment's tag…
    _refused(blob[:-1])
    assert "header" in _refused(blob[:20])
    _refused(blob[:body])  # header alone
    _refused(blob + b"\x00")  # a byte appended
    _refused(blob + blob[body : body + segment])  # a segment appended
    swapped = blob[:body] + blob[body + segment : body + 2 * segment] + blob[body : body + segment]
    _refused(swapped + blob[body + 2 * segment :])  # two segments swapped
    for position in (body + 1, body + segment + 3, len(blob) - 1, 30, 45):  # body, tag, salt, prefix
        flipped = bytearray(blob)
        flipped[position] ^= 0x01
        _refused(bytes(flipped))
    chunk_changed = bytearray(blob)
    chunk_changed[6] ^= 0x01  # the chunk size in the header
    _refused(bytes(chunk_changed))
    version = bytearray(blob)
    version[4] = 2
    assert "version 2" in _refused(bytes(version))
    assert "not a Pacte encrypted stream" in _refused(b"PK\x03\x04" + blob[4:])
    _refused(blob, key=bytes(32))  # another key
    _refused(blob, context="subject|account|rights.export|2")  # another file's context
    assert _open(blob) == plain  # the original still reads


def test_a_writer_never_finished_leaves_a_file_that_is_refused() -> None:
    out = io.BytesIO()
    writer = stream.EncryptingWriter(out, key=KEY, context=CONTEXT, chunk_size=16)
    writer.write(os.urandom(100))
    writer.close()  # closing (an exception, a kill) is not finishing
    assert len(out.getvalue()) > stream.HEADER_SIZE + 5 * 32
    _refused(out.getvalue())
    with pytest.raises(ValueError):
        writer.write(b"more")


class _Sink(io.RawIOBase):
    """A file that counts what it is given and keeps nothing."""

    size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.size += len(data)
        return len(data)


def test_memory_stays_flat_whatever_the_size() -> None:
    size = 48 * 1024 * 1024
    piece = os.urandom(100_000)
    tracemalloc.start()
    try:
        sink = _Sink()
        writer = stream.EncryptingWriter(sink, key=KEY, context=CONTEXT)
        for _ in range(size // len(piece)):
            writer.write(piece)
        writer.finish()
        _current, write_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size > (size // len(piece)) * len(piece)
    assert write_peak < 1024 * 1024, write_peak  # a chunk or two, not the file

    # Reading: a 48 MiB encrypted file on disk, decrypted chunk by chunk.
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"pacte-stream-{os.getpid()}.bin")
    try:
        with open(path, "wb") as raw:
            writer = stream.EncryptingWriter(raw, key=KEY, context=CONTEXT)
            for _ in range(size // len(piece)):
                writer.write(piece)
            writer.finish()
        total = 0
        tracemalloc.start()
        try:
            with open(path, "rb") as raw:
                for chunk in stream.decrypt_chunks(raw, key=KEY, context=CONTEXT):
                    total += len(chunk)
            _current, read_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert total == (size // len(piece)) * len(piece)
        assert read_peak < 1024 * 1024, read_peak
    finally:
        os.unlink(path)


@pytest.mark.django_db(databases=["default", "keys", "telemetry"])
def test_a_file_under_a_subject_key_is_unreadable_for_good_once_the_keys_are_destroyed() -> None:
    subject = subject_create(kind="customer")
    other = subject_create(kind="customer")
    out = io.BytesIO()
    writer = stream.subject_writer(
        out, subject_id=subject.pk, retention_class="account", purpose="rights.export|1"
    )
    writer.write(b"Alice Martin")
    writer.finish()
    kept = out.getvalue()  # a copy someone kept

    def read(blob: bytes, subject_id=subject.pk, purpose: str = "rights.export|1") -> bytes:
        chunks = stream.subject_chunks(
            io.BytesIO(blob), subject_id=subject_id, retention_class="account", purpose=purpose
        )
        return b"".join(chunks)

    assert read(kept) == b"Alice Martin"
    stream.subject_writer(io.BytesIO(), subject_id=other.pk, retention_class="account", purpose="x")
    with pytest.raises(VaultIntegrityError):
        read(kept, subject_id=other.pk)  # another person's key does not open it
    with pytest.raises(VaultIntegrityError):
        read(kept, purpose="rights.export|2")

    services.keys_destroy(subject=subject)
    with pytest.raises(stream.StreamKeyDestroyedError) as caught:
        read(kept)
    assert caught.value.code == stream.KEY_DESTROYED and "destroyed" in str(caught.value.message)
