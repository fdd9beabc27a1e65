"""API keys: create (the secret is returned once), revoke, authenticate (one indexed read, cached)."""

from __future__ import annotations

import hashlib
import secrets

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from pacte.api.models import ApiKey
from pacte.core.errors import PacteError

CACHE_SECONDS = 30


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
    """Revoke a key at once (the authentication cache holds a key for at most 30 seconds)."""
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None:
        raise PacteError(f"There is no API key starting with {prefix!r}.", "api.unknown_key", status=404)
    key.revoked_at = key.revoked_at or timezone.now()
    key.save(update_fields=["revoked_at"])
    cache.delete("pacte:apikey:" + key.digest)
    return key


def apikey_authenticate(*, secret: str) -> ApiKey | None:
    """Return the live key matching ``secret``, or None."""
    digest = _digest(secret)
    cache_key = "pacte:apikey:" + digest
    cached = cache.get(cache_key)
    if cached is not None:
        return cached or None
    key = ApiKey.objects.filter(digest=digest, revoked_at__isnull=True).first()
    cache.set(cache_key, key or False, CACHE_SECONDS)
    return key
