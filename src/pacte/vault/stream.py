"""Streaming encryption of large files (exports) under a subject's data key, chunk by chunk.

A file is a header followed by segments. Each segment is one chunk of plaintext (``chunk_size`` bytes,
except the last, which holds 0 to ``chunk_size`` bytes) sealed with AES-256-GCM, so neither writing nor
reading ever holds more than one chunk in memory::

    header  = b"PSTR" | version (1 byte) | chunk_size (uint32, big-endian) | salt (32) | nonce prefix (8)
    segment = AES-256-GCM(file key, nonce = prefix | counter (uint32 BE), chunk, aad = header | final flag)

The file key is HKDF-SHA256 of the subject's data key with the file's random salt and its context
(subject, retention class, what the file is), so every file has its own key and a file moved to another
subject or purpose fails to open. The counter in the nonce stops reordering; the final flag (1 on the
last segment only) in the associated data stops truncation at a segment boundary; the header in the
associated data stops header tampering. Destroying the subject's data key makes every copy of the file,
complete or partial, unreadable for good.

``EncryptingWriter`` is a write-only binary file object (``zipfile`` writes to it in streaming mode);
``finish()`` seals the last segment, and a writer that is never finished leaves a file that reads as
truncated. ``decrypt_chunks`` yields the plaintext chunk by chunk and raises ``VaultIntegrityError`` on
any alteration, truncation or wrong key.
"""

from __future__ import annotations

import io
import math
import os
import struct
import uuid
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pacte.vault import error_codes
from pacte.vault.crypto import data_key
from pacte.vault.errors import VaultError, VaultIntegrityError

MAGIC = b"PSTR"
VERSION = 1
CHUNK_SIZE = 64 * 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024
TAG_SIZE = 16
_HEADER = struct.Struct(">4sBI32s8s")
HEADER_SIZE = _HEADER.size  # 49
KEY_DESTROYED = error_codes.STREAM_KEY_DESTROYED


class StreamKeyDestroyedError(VaultError):
    """The data key that encrypted a stream no longer exists: the file can never be read again."""

    status = 410

    def __init__(self) -> None:
        super().__init__(
            "This file was encrypted under a data key that has been destroyed (the person's data was "
            "erased or its retention ended): no copy of it can ever be decrypted.",
            KEY_DESTROYED,
        )


def _file_key(key: bytes, salt: bytes, context: str) -> AESGCM:
    if len(key) != 32:
        raise VaultError("A stream key must be 32 bytes (AES-256).", error_codes.STREAM_KEY)
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=b"pacte-stream-v1|" + context.encode()
    ).derive(key)
    return AESGCM(derived)


def _nonce(prefix: bytes, counter: int) -> bytes:
    if counter >= 2**32:
        raise VaultError("A stream cannot hold more than 2^32 chunks.", error_codes.STREAM_TOO_LONG)
    return prefix + counter.to_bytes(4, "big")


class EncryptingWriter(io.RawIOBase):
    """Encrypt everything written to it into ``raw`` (a binary file), one sealed chunk at a time.

    Call ``finish()`` once everything is written: it seals the last chunk. ``close()`` alone (or an
    exception, or garbage collection) leaves the file unterminated, so a half-written file is refused
    by the reader instead of passing for a shorter complete one. ``on_chunk(chunks_written)`` is called
    after each chunk reaches ``raw`` (builders use it as a heartbeat). ``raw`` is not closed.
    """

    def __init__(
        self,
        raw: BinaryIO | Any,
        *,
        key: bytes,
        context: str,
        chunk_size: int = CHUNK_SIZE,
        on_chunk: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__()
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise VaultError(f"Chunk size must be 1 to {MAX_CHUNK_SIZE} bytes.", error_codes.STREAM_CHUNK)
        salt, self._prefix = os.urandom(32), os.urandom(8)
        self._header = _HEADER.pack(MAGIC, VERSION, chunk_size, salt, self._prefix)
        self._aead = _file_key(key, salt, context)
        self._raw = raw
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._counter = 0
        self._position = 0
        self._finished = False
        self._on_chunk = on_chunk
        raw.write(self._header)

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        """Return how many plaintext bytes were written (``zipfile`` needs it; it never seeks)."""
        return self._position

    def _seal(self, chunk: bytes | bytearray | memoryview, *, final: bool) -> None:
        aad = self._header + (b"\x01" if final else b"\x00")
        self._raw.write(self._aead.encrypt(_nonce(self._prefix, self._counter), bytes(chunk), aad))
        self._counter += 1
        if self._on_chunk is not None:
            self._on_chunk(self._counter)

    def write(self, data: Any) -> int:
        if self.closed or self._finished:
            raise ValueError("write to a closed or finished encrypted stream")
        view = memoryview(data).cast("B")
        size = len(view)
        self._buffer += view
        self._position += size
        # Keep at least one byte back: the last chunk, sealed by finish(), is never empty unless the
        # whole stream is, and a full chunk is only known to be non-final once more data follows.
        if len(self._buffer) > self._chunk_size:
            count = (len(self._buffer) - 1) // self._chunk_size
            with memoryview(self._buffer) as buffered:
                for index in range(count):
                    start = index * self._chunk_size
                    self._seal(buffered[start : start + self._chunk_size], final=False)
            del self._buffer[: count * self._chunk_size]
        return size

    def finish(self) -> None:
        """Seal the last chunk and flush ``raw``; the stream is complete and can be read back."""
        if self._finished:
            return
        if self.closed:
            raise ValueError("finish() on a closed encrypted stream")
        self._seal(self._buffer, final=True)
        self._buffer = bytearray()
        self._finished = True
        self._raw.flush()

    @property
    def finished(self) -> bool:
        return self._finished


def _read_exactly(raw: Any, size: int) -> bytes:
    parts = []
    while size:
        part = raw.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _header_read(raw: Any) -> tuple[bytes, int, bytes, bytes]:
    header = _read_exactly(raw, HEADER_SIZE)
    if len(header) < HEADER_SIZE or header[:4] != MAGIC:
        raise VaultIntegrityError("This file is not a Pacte encrypted stream (or its header is cut).")
    magic, version, chunk_size, salt, prefix = _HEADER.unpack(header)
    if version != VERSION:
        raise VaultIntegrityError(
            f"This encrypted stream has format version {version}; this Pacte reads version {VERSION}."
        )
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise VaultIntegrityError("This encrypted stream's header was altered (impossible chunk size).")
    return header, chunk_size, salt, prefix


def decrypt_chunks(raw: BinaryIO | Any, *, key: bytes, context: str) -> Iterator[bytes]:
    """Yield the plaintext of an encrypted stream chunk by chunk, authenticating each before it is given.

    Raises ``VaultIntegrityError`` when the file was altered, cut short, has extra bytes, or was not
    encrypted under this key and context. The chunks before a fault have been yielded already: a
    consumer that must not act on a partial result checks that the iteration ended without an error.
    """
    header, chunk_size, salt, prefix = _header_read(raw)
    aead = _file_key(key, salt, context)
    segment_size = chunk_size + TAG_SIZE
    counter = 0
    segment = _read_exactly(raw, segment_size)
    while True:
        following = raw.read(1) if len(segment) == segment_size else b""
        final = not following
        if len(segment) < TAG_SIZE:
            raise VaultIntegrityError("This encrypted file is cut short: it was truncated or altered.")
        try:
            plain = aead.decrypt(_nonce(prefix, counter), segment, header + (b"\x01" if final else b"\x00"))
        except InvalidTag:
            raise VaultIntegrityError(
                "This encrypted file failed its integrity check: it was altered or truncated, or it is "
                "not readable with this person's key."
            ) from None
        yield plain
        if final:
            return
        counter += 1
        segment = following + _read_exactly(raw, segment_size - 1)


def plaintext_size(raw: BinaryIO | Any, total_size: int) -> int:
    """Return the plaintext length of an encrypted stream of ``total_size`` bytes (reads the header).

    Trusts the header only for the arithmetic; the content is authenticated as it is decrypted.
    """
    _header, chunk_size, _salt, _prefix = _header_read(raw)
    body = total_size - HEADER_SIZE
    segments = max(1, math.ceil(body / (chunk_size + TAG_SIZE)))
    return max(0, body - segments * TAG_SIZE)


# --- Under a subject's data key -------------------------------------------------------------------


def _context(subject_id: uuid.UUID | str, retention_class: str, purpose: str) -> str:
    return f"{subject_id}|{retention_class}|{purpose}"


def subject_writer(
    raw: BinaryIO | Any,
    *,
    subject_id: uuid.UUID | str,
    retention_class: str,
    purpose: str,
    chunk_size: int = CHUNK_SIZE,
    on_chunk: Callable[[int], None] | None = None,
) -> EncryptingWriter:
    """Return a writer encrypting into ``raw`` under the subject's data key of ``retention_class``.

    ``purpose`` names the file (e.g. ``rights.export|<request id>``); the reader must give the same.
    The data key is created if the subject has none yet in that class.
    """
    key = data_key(subject_id, retention_class, create=True)
    assert key is not None
    return EncryptingWriter(
        raw,
        key=key,
        context=_context(subject_id, retention_class, purpose),
        chunk_size=chunk_size,
        on_chunk=on_chunk,
    )


def subject_chunks(
    raw: BinaryIO | Any, *, subject_id: uuid.UUID | str, retention_class: str, purpose: str
) -> Iterator[bytes]:
    """Yield the plaintext of a stream written by ``subject_writer``, chunk by chunk.

    Raises ``StreamKeyDestroyedError`` when the subject's key of that class was destroyed (checked
    before anything is read) and ``VaultIntegrityError`` as ``decrypt_chunks`` does.
    """
    key = data_key(subject_id, retention_class, create=False)
    if key is None:
        raise StreamKeyDestroyedError()
    return decrypt_chunks(raw, key=key, context=_context(subject_id, retention_class, purpose))
