"""Policy settings, read lazily (Django settings)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def policy_file() -> Path:
    """The policy file Pacte runs under (PACTE_POLICY_FILE, set from PACTE_POLICY)."""
    return Path(settings.PACTE_POLICY_FILE)
