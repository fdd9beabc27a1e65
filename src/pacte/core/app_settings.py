"""Core settings, read lazily (Django settings)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def home() -> Path:
    """The folder that holds Pacte's files: SQLite databases, master key, mail spool, exports (PACTE_HOME)."""
    return Path(settings.PACTE_HOME)
