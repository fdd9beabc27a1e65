"""Billing settings, read lazily (environment first, then Django settings).

``PACTE_BILLING_GATEWAYS`` says which gateways an operator uses, which policy recipient each one is, and
for which customer countries (see ``gateway_choices``). Stripe's keys and address are read here too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings


def _get(name: str, default: Any = None) -> Any:
    value = os.environ.get(name)
    if value not in (None, ""):
        return value
    value = getattr(settings, name, None)
    return default if value in (None, "") else value


@dataclass(frozen=True)
class GatewayChoice:
    """One entry of PACTE_BILLING_GATEWAYS: a gateway, the recipient it is in the policy, its countries."""

    gateway: str
    recipient: str | None  # None: nothing leaves Pacte (the sandbox), so nothing is disclosed
    countries: frozenset[str] | None  # None: every country

    def serves(self, country: str | None) -> bool:
        return self.countries is None or (country or "").upper() in self.countries


def parse_gateways(text: str) -> list[GatewayChoice]:
    """Parse ``NAME[=RECIPIENT][@CC,CC…]`` entries separated by spaces or ``;``.

    ``stripe=stripe@FR,BE paypal=paypal`` sends French and Belgian customers to Stripe and everyone
    else to PayPal (the first entry that serves a country wins). Raises ``ValueError`` on a malformed
    entry; whether names and recipients exist is checked by ``pacte.E050``.
    """
    choices = []
    for raw in text.replace(";", " ").split():
        head, _at, countries = raw.partition("@")
        name, _eq, recipient = head.partition("=")
        if not name or (_eq and not recipient) or (_at and not countries):
            raise ValueError(f"malformed gateway entry {raw!r}: write NAME[=RECIPIENT][@CC,CC]")
        codes = None
        if countries and countries != "*":
            codes = frozenset(code.strip().upper() for code in countries.split(",") if code.strip())
            if not codes or any(len(code) != 2 or not code.isalpha() for code in codes):
                raise ValueError(f"malformed countries in {raw!r}: two-letter ISO codes, comma-separated")
        choices.append(
            GatewayChoice(gateway=name.strip().lower(), recipient=recipient or None, countries=codes)
        )
    return choices


def gateway_choices() -> list[GatewayChoice]:
    """The operator's gateways (PACTE_BILLING_GATEWAYS, default ``sandbox``: in-process, nothing leaves)."""
    return parse_gateways(str(_get("PACTE_BILLING_GATEWAYS", "sandbox")))


def webhook_tolerance() -> int:
    """Seconds a signed webhook stays acceptable after it was signed (PACTE_BILLING_WEBHOOK_TOLERANCE, 300)."""
    return int(_get("PACTE_BILLING_WEBHOOK_TOLERANCE", 300))


def stripe_secret_key() -> str:
    """Stripe's secret API key (PACTE_STRIPE_SECRET_KEY); empty when Stripe is not configured."""
    return str(_get("PACTE_STRIPE_SECRET_KEY", ""))


def stripe_webhook_secret() -> str:
    """The signing secret of the Stripe webhook endpoint (PACTE_STRIPE_WEBHOOK_SECRET, ``whsec_…``)."""
    return str(_get("PACTE_STRIPE_WEBHOOK_SECRET", ""))


def stripe_api_base() -> str:
    """Where Stripe's API answers (PACTE_STRIPE_API_BASE, default https://api.stripe.com; tests: localstripe)."""
    return str(_get("PACTE_STRIPE_API_BASE", "https://api.stripe.com")).rstrip("/")


def stripe_timeout() -> float:
    """Seconds before a Stripe call is given up as "gateway unavailable" (PACTE_STRIPE_TIMEOUT, 20)."""
    return float(_get("PACTE_STRIPE_TIMEOUT", 20))


def stripe_max_retries() -> int:
    """Network retries of one Stripe call, with its idempotency key (PACTE_STRIPE_MAX_RETRIES, 1)."""
    return int(_get("PACTE_STRIPE_MAX_RETRIES", 1))
