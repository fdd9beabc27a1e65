"""Ledger settings, read lazily (environment first, then Django settings)."""

from __future__ import annotations

import os

from django.conf import settings


def _int(name: str, default: int) -> int:
    value = os.environ.get(name) or getattr(settings, name, None)
    return int(value) if value else default


def sth_every_entries() -> int:
    """Sign a tree head every this many entries (PACTE_LEDGER_STH_EVERY_ENTRIES, default 256)."""
    return _int("PACTE_LEDGER_STH_EVERY_ENTRIES", 256)


def sth_every_seconds() -> int:
    """Sign a tree head at least this often when entries were added (PACTE_LEDGER_STH_EVERY_SECONDS, 60)."""
    return _int("PACTE_LEDGER_STH_EVERY_SECONDS", 60)
