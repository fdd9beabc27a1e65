"""Vault errors. Messages never contain key material or plaintext."""

from __future__ import annotations

from pacte.core.errors import PacteError
from pacte.vault import error_codes


class VaultError(PacteError):
    status = 500


class MasterKeyError(VaultError):
    """The master key ring is missing, malformed, or cannot unwrap a stored key."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_codes.MASTER_KEY)


class VaultIntegrityError(VaultError):
    """A ciphertext failed authentication: tampered, or moved to another row, field or subject."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_codes.INTEGRITY)
