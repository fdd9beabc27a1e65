"""The cookie banner's state, kept in one strictly-necessary signed cookie (no server-side profile).

The cookie holds a random consent id, the policy version, the time of the choice and one yes/no per
purpose the banner asks about. No cookie, a stale one (older than the policy's
``cookie_choice_months``) or one that does not answer a purpose the policy now declares means: ask.
Until a person answers, every non-essential purpose is refused (silence is refusal).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse

from pacte.consent import selectors
from pacte.policy.selectors import policy_active

COOKIE = "pacte_consent"
SALT = "pacte.consent.banner"
MONTH_SECONDS = 30 * 24 * 3600


def now() -> float:
    """The clock of the banner (tests travel in time by replacing it)."""
    return time.time()


@dataclass
class BannerState:
    consent_id: uuid.UUID | None = None
    version: int = 0
    chosen_at: float = 0.0
    choices: dict[str, bool] = field(default_factory=dict)
    must_ask: bool = True
    asked: str = ""  # fingerprint of what the banner asked about (purposes, cookies, widgets)

    def granted(self, purpose: str) -> bool:
        return not self.must_ask and self.choices.get(purpose, False)


def _months() -> int:
    return policy_active().operator.cookie_choice_months


def asked_fingerprint() -> str:
    """A short digest of what the banner asks about: any new cookie, widget or purpose changes it."""
    shape = [
        [row.id, sorted(c[0] for c in row.cookies), sorted(w[0] for w in row.widgets)]
        for row in selectors.banner_purposes()
    ]
    return hashlib.sha256(json.dumps(sorted(shape)).encode()).hexdigest()[:12]


def state_read(request: HttpRequest) -> BannerState:
    """Read the banner state of this browser (cached on the request)."""
    cached = getattr(request, "_pacte_banner", None)
    if cached is not None:
        return cached
    state = BannerState()
    raw = request.COOKIES.get(COOKIE)
    if raw:
        try:
            data: Any = signing.loads(raw, salt=SALT)
            state = BannerState(
                consent_id=uuid.UUID(data["i"]),
                version=int(data["v"]),
                chosen_at=float(data["t"]),
                choices={str(k): bool(v) for k, v in dict(data["c"]).items()},
                asked=str(data.get("h", "")),
            )
        except (signing.BadSignature, KeyError, ValueError, TypeError):
            state = BannerState()
    asked = {row.id for row in selectors.banner_purposes()}
    fresh = now() - state.chosen_at < _months() * MONTH_SECONDS
    # Asked again when the choice is stale, or when the policy now declares a cookie, widget or purpose
    # this browser was never asked about.
    state.must_ask = not raw or not fresh or state.asked != asked_fingerprint()
    if not asked:
        state.must_ask = False  # a policy without non-essential cookies or widgets has no banner
    request._pacte_banner = state  # type: ignore[attr-defined]
    return state


def state_write(response: HttpResponse, state: BannerState, *, secure: bool) -> None:
    """Store the state in the strictly-necessary cookie for the policy's re-ask period."""
    value = signing.dumps(
        {
            "i": str(state.consent_id),
            "v": state.version,
            "t": int(state.chosen_at),
            "c": {k: int(v) for k, v in sorted(state.choices.items())},
            "h": state.asked or asked_fingerprint(),
        },
        salt=SALT,
        compress=True,
    )
    response.set_cookie(
        COOKIE, value, max_age=_months() * MONTH_SECONDS, secure=secure, httponly=True, samesite="Lax"
    )
