"""Messaging settings, read lazily (environment first, then Django settings)."""

from __future__ import annotations

import os

from django.conf import settings


def _int(name: str, default: int) -> int:
    value = os.environ.get(name) or getattr(settings, name, None)
    return int(value) if value else default


def subscribe_resend_delay() -> int:
    """Seconds before a pending confirmation may be sent again (PACTE_SUBSCRIBE_RESEND_DELAY, 600)."""
    return _int("PACTE_SUBSCRIBE_RESEND_DELAY", 600)


def subscribe_limit_per_address() -> int:
    """Sign-up requests per address per hour (PACTE_SUBSCRIBE_LIMIT_PER_ADDRESS, default 3)."""
    return _int("PACTE_SUBSCRIBE_LIMIT_PER_ADDRESS", 3)


def subscribe_limit_per_client() -> int:
    """Sign-up requests per client IP address per hour (PACTE_SUBSCRIBE_LIMIT_PER_CLIENT, default 10)."""
    return _int("PACTE_SUBSCRIBE_LIMIT_PER_CLIENT", 10)


def mail_spool_hours() -> int:
    """Hours a spooled mail file is kept in the embedded default (PACTE_MAIL_SPOOL_HOURS, default 24)."""
    return _int("PACTE_MAIL_SPOOL_HOURS", 24)
