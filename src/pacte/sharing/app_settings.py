"""Sharing settings, read lazily (environment first, then Django settings).

What may be disclosed, to whom, why, and at which hosts is the policy file's to say
(``[recipients.*]``), read through ``pacte.policy.selectors``. These settings only shape how
disclosures are shown (the transparency page) and loosen the outbound HTTP client
(``sharing.http``) for local set-ups and tests.
"""

from __future__ import annotations

import os

from django.conf import settings


def transparency_threshold() -> int:
    """Smallest count the transparency page shows as a number (PACTE_TRANSPARENCY_THRESHOLD, default 5).

    A smaller count is shown as "fewer than N", so that a count of one or two cannot point at a person.
    Never below 1.
    """
    value = os.environ.get("PACTE_TRANSPARENCY_THRESHOLD") or getattr(
        settings, "PACTE_TRANSPARENCY_THRESHOLD", None
    )
    return max(1, int(value)) if value else 5


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        value = getattr(settings, name, None)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def allow_insecure() -> bool:
    """Whether ``http://`` URLs may be called (PACTE_SHARING_ALLOW_INSECURE).

    Default: refused in production, allowed in the embedded mode (one box, often a local receiver).
    """
    return _bool("PACTE_SHARING_ALLOW_INSECURE", not getattr(settings, "PACTE_PRODUCTION", False))


def allow_private_networks() -> bool:
    """Whether hosts resolving to loopback, private, link-local or reserved addresses may be called.

    PACTE_SHARING_ALLOW_PRIVATE_NETWORKS, default False in every mode (SSRF): set it for a receiver on
    the same machine or network.
    """
    return _bool("PACTE_SHARING_ALLOW_PRIVATE_NETWORKS", False)
