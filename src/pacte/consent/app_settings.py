"""Consent settings, read lazily (Django settings)."""

from __future__ import annotations

from django.conf import settings


def strict_cookies() -> bool:
    """Fail any response that sets a cookie the policy does not declare, instead of only logging it
    (PACTE_STRICT_COOKIES, default: on with DEBUG, off otherwise)."""
    return bool(getattr(settings, "PACTE_STRICT_COOKIES", False) or settings.DEBUG)
