"""Telemetry settings, read lazily (environment first, then Django settings).

The middleware reads several of them on every request: each value is cached once read, and the cache
is emptied whenever a Django setting changes (tests) — the environment is read at first use only.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_MISSING = object()
_cache: dict[str, object] = {}


@receiver(setting_changed)
def _forget(**kwargs: object) -> None:
    _cache.clear()


def _value(name: str) -> object:
    value = _cache.get(name, _MISSING)
    if value is not _MISSING:
        return value
    value = os.environ.get(name)
    if value is None or value == "":
        value = getattr(settings, name, None)
    _cache[name] = value
    return value


def _int(name: str, default: int) -> int:
    value = _value(name)
    return int(str(value)) if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    value = _value(name)
    return float(str(value)) if value not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    value = _value(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: list[str]) -> list[str]:
    value = _value(name)
    if value is None or value == "":
        return default
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return [item.strip() for item in str(value).split(",") if item.strip()]


def enabled() -> bool:
    """Record page views at all (PACTE_TELEMETRY, default on)."""
    return _bool("PACTE_TELEMETRY", True)


def honour_dnt() -> bool:
    """Record nothing for a browser that sends ``DNT: 1`` or ``Sec-GPC: 1`` (PACTE_TELEMETRY_HONOUR_DNT, on)."""
    return _bool("PACTE_TELEMETRY_HONOUR_DNT", True)


def trusted_proxies() -> list[str]:
    """Addresses or networks whose X-Forwarded-For is believed (PACTE_TRUSTED_PROXIES, none)."""
    return _list("PACTE_TRUSTED_PROXIES", [])


def skip_prefixes() -> list[str]:
    """Paths never counted as page views (PACTE_TELEMETRY_SKIP; /admin/, /staff/, /api/ and static)."""
    static = str(getattr(settings, "STATIC_URL", "/static/") or "/static/")
    if not static.startswith("/"):
        static = "/" + static
    return _list("PACTE_TELEMETRY_SKIP", ["/admin/", "/staff/", "/api/", static])


def batch_size() -> int:
    """Buffered hits that trigger a write (PACTE_TELEMETRY_BATCH, default 200)."""
    return max(1, _int("PACTE_TELEMETRY_BATCH", 200))


def flush_seconds() -> float:
    """Longest time a hit waits in the buffer (PACTE_TELEMETRY_FLUSH_SECONDS, default 2)."""
    return max(0.0, _float("PACTE_TELEMETRY_FLUSH_SECONDS", 2.0))


def buffer_max() -> int:
    """Hits a process holds at most before dropping (PACTE_TELEMETRY_BUFFER_MAX, default 10 000)."""
    return max(1, _int("PACTE_TELEMETRY_BUFFER_MAX", 10_000))


def flush_thread() -> bool:
    """Flush by time from a background thread too (PACTE_TELEMETRY_FLUSH_THREAD, default on)."""
    return _bool("PACTE_TELEMETRY_FLUSH_THREAD", True)


def rate_per_minute() -> int:
    """Hits one visitor key may record per minute, the rest dropped (PACTE_TELEMETRY_RATE, default 60)."""
    return max(1, _int("PACTE_TELEMETRY_RATE", 60))


def search_param() -> str:
    """The query-string parameter of the site's search (PACTE_TELEMETRY_SEARCH_PARAM, default ``q``)."""
    return str(_value("PACTE_TELEMETRY_SEARCH_PARAM") or "q")


def search_path() -> str:
    """The path of the site's search page, or empty for any path (PACTE_TELEMETRY_SEARCH_PATH)."""
    return str(_value("PACTE_TELEMETRY_SEARCH_PATH") or "")


def hit_days() -> int:
    """Days raw hits are kept for re-computing rollups (PACTE_TELEMETRY_HIT_DAYS, default 7)."""
    return max(2, _int("PACTE_TELEMETRY_HIT_DAYS", 7))


def rollup_months() -> int:
    """Months daily aggregates are kept (PACTE_TELEMETRY_ROLLUP_MONTHS, default 25: CNIL's maximum)."""
    return min(25, max(1, _int("PACTE_TELEMETRY_ROLLUP_MONTHS", 25)))


def purge_batch() -> int:
    """Rows deleted per transaction by the purges (PACTE_TELEMETRY_PURGE_BATCH, default 10 000)."""
    return max(1, _int("PACTE_TELEMETRY_PURGE_BATCH", 10_000))
