"""Accounts settings, read lazily (Django settings)."""

from __future__ import annotations

from django.conf import settings


def base_url() -> str:
    """The public address of Pacte, without a trailing slash, that mails link to (PACTE_BASE_URL)."""
    return str(settings.PACTE_BASE_URL).rstrip("/")
