"""Envelope encryption of personal data: per-subject keys, encrypted fields, blind indexes, shredding."""

from pacte.vault.fields import ERASED

__all__ = ["ERASED"]
