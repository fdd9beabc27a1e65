"""Rights settings, read lazily (environment first, then Django settings)."""

from __future__ import annotations

import os

from django.conf import settings


def _int(name: str, default: int) -> int:
    value = os.environ.get(name) or getattr(settings, name, None)
    return int(value) if value else default


def export_lease_seconds() -> int:
    """An export build that has not shown progress for this long is taken as dead and is reclaimed
    (PACTE_EXPORT_LEASE_SECONDS, default 900)."""
    return max(1, _int("PACTE_EXPORT_LEASE_SECONDS", 900))


def export_max_attempts() -> int:
    """After this many builds of one export died, it is marked failed and the person is told
    (PACTE_EXPORT_MAX_ATTEMPTS, default 3)."""
    return max(1, _int("PACTE_EXPORT_MAX_ATTEMPTS", 3))
