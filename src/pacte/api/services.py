"""API keys: create (the secret is returned once), revoke, authenticate (one indexed read, never cached)."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from pacte.api import error_codes
from pacte.api.models import ApiKey
from pacte.core.errors import PacteError


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def apikey_create(*, name: str) -> tuple[ApiKey, str]:
    """Create a key; return it with its secret, which is never stored and cannot be shown again."""
    prefix = secrets.token_hex(4)
    secret = f"pacte_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name.strip()[:100] or "key", prefix=prefix, digest=_digest(secret))
    key.full_clean()
    key.save()
    return key, secret


@transaction.atomic
def apikey_revoke(*, prefix: str) -> ApiKey:
    """Revoke a key; every server process refuses it from its next request on.

    Authentication reads the database on every request (no cache), so there is nothing to invalidate.
    Revoking a revoked key keeps its first revocation time.
    """
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None:
        raise PacteError(
            f"There is no API key starting with {prefix!r}.", error_codes.UNKNOWN_KEY, status=404
        )
    key.revoked_at = key.revoked_at or timezone.now()
    key.save(update_fields=["revoked_at"])
    return key


def apikey_authenticate(*, secret: str) -> ApiKey | None:
    """Return the live key matching ``secret``, or None: one read on the unique digest index.

    Deliberately not cached: a per-process cache let a revoked key work on other processes until it
    expired. The read loads only the columns a request needs (the key's id and prefix).
    """
    try:
        return ApiKey.objects.only("id", "prefix").get(digest=_digest(secret), revoked_at__isnull=True)
    except ApiKey.DoesNotExist:
        return None
