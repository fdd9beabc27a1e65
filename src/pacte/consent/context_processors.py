"""Give every page the cookie banner (when this browser must be asked) and its choices."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import get_language


def banner(request: HttpRequest) -> dict[str, Any]:
    from pacte.consent import banner as banner_state
    from pacte.consent.selectors import banner_purposes

    try:
        state = banner_state.state_read(request)
    except Exception:  # no active policy: the policy app reports that at start-up
        return {}
    if not state.must_ask:
        return {"pacte_banner": None}
    return {"pacte_banner": {"purposes": banner_purposes(lang=(get_language() or "fr")[:2]), "state": state}}
