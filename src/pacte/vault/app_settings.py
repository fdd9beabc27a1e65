"""Vault settings, read lazily (environment first for the master keys, then Django settings)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from pacte.core import app_settings as core_settings


def master_keys() -> str:
    """The master key ring as text, ``id:base64`` entries (PACTE_MASTER_KEYS; empty: use the key file)."""
    return os.environ.get("PACTE_MASTER_KEYS", "")


def master_key_file() -> Path:
    """The master key file of the embedded setup: ``master.key`` in PACTE_HOME."""
    return core_settings.home() / "master.key"


def production() -> bool:
    """Refuse to make a master key file: production must be given its keys (PACTE_PRODUCTION)."""
    return bool(getattr(settings, "PACTE_PRODUCTION", False))
