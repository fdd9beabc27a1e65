"""pacte.E040: in production, links in e-mails must point at the public address, not at loopback."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, "pacte")
def base_url_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    base = str(getattr(settings, "PACTE_BASE_URL", ""))
    if getattr(settings, "PACTE_PRODUCTION", False) and (
        not base.startswith("https://") or "127.0.0.1" in base or "localhost" in base
    ):
        return [
            Error(
                f"PACTE_BASE_URL is {base!r}: unsubscribe and confirmation links in e-mails would not work.",
                hint="Set PACTE_BASE_URL to the public https address of this site, e.g. https://shop.example.",
                id="pacte.E040",
            )
        ]
    return []
