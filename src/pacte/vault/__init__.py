"""Envelope encryption of personal data: per-subject keys, encrypted fields, blind indexes, shredding."""
