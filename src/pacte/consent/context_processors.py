"""Give every page the cookie banner (when this browser must be asked) and its choices."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from pacte.consent import banner as banner_state
from pacte.consent import selectors
from pacte.core.i18n import current_language


def banner(request: HttpRequest) -> dict[str, Any]:
    try:
        state = banner_state.state_read(request)
    except Exception:  # no active policy: the policy app reports that at start-up
        return {}
    if not state.must_ask:
        return {"pacte_banner": None}
    return {"pacte_banner": {"purposes": selectors.banner_purposes(lang=current_language()), "state": state}}
