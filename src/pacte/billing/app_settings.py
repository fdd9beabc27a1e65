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


def stripe_checkout() -> str:
    """How the customer pays at Stripe (PACTE_STRIPE_CHECKOUT): ``hosted`` or ``card``.

    ``hosted``: Stripe-hosted Checkout — Pacte creates a Checkout Session and sends the buyer to its page
    (no Stripe.js, the strict CSP holds); the default with a live key. ``card``: Pacte's own card page,
    which Stripe accepts in test mode only; the default with a test key (``sk_test_…``).
    """
    value = str(_get("PACTE_STRIPE_CHECKOUT", "") or "").strip().lower()
    if value in ("hosted", "card"):
        return value
    return "card" if stripe_secret_key().startswith("sk_test_") else "hosted"


# --- PayPal (gateways/paypal.py) --------------------------------------------------------------------


def _words(value: Any) -> list[str]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(item).strip() for item in value if str(item).strip()]
    return str(value).replace(",", " ").split()


def paypal_client_id() -> str:
    """The REST app's client id (PACTE_PAYPAL_CLIENT_ID); empty when PayPal is not configured."""
    return str(_get("PACTE_PAYPAL_CLIENT_ID", ""))


def paypal_client_secret() -> str:
    """The REST app's secret (PACTE_PAYPAL_CLIENT_SECRET)."""
    return str(_get("PACTE_PAYPAL_CLIENT_SECRET", ""))


def paypal_environment() -> str:
    """``production`` (api-m.paypal.com) or ``sandbox`` (api-m.sandbox.paypal.com): PACTE_PAYPAL_ENVIRONMENT."""
    return str(_get("PACTE_PAYPAL_ENVIRONMENT", "sandbox")).strip().lower()


def paypal_api_base() -> str:
    """Another address for PayPal's REST API (PACTE_PAYPAL_API_BASE; the tests' local PayPal). Empty: the
    environment's own."""
    return str(_get("PACTE_PAYPAL_API_BASE", "")).rstrip("/")


def paypal_webhook_id() -> str:
    """The id PayPal gave the webhook endpoint (PACTE_PAYPAL_WEBHOOK_ID): part of what each signature covers."""
    return str(_get("PACTE_PAYPAL_WEBHOOK_ID", ""))


def paypal_cert_hosts() -> frozenset[str]:
    """Hosts (``host`` or ``host:port``) a webhook's certificate may be fetched from (PACTE_PAYPAL_CERT_HOSTS).

    Default: PayPal's ``api.paypal.com`` and ``api.sandbox.paypal.com``. The policy's ``paypal`` recipient
    must declare them too (the fetch goes through ``pacte.sharing.http``).
    """
    hosts = _get("PACTE_PAYPAL_CERT_HOSTS", "api.paypal.com api.sandbox.paypal.com")
    return frozenset(host.lower() for host in _words(hosts))


def paypal_cert_names() -> list[str]:
    """DNS names the signing certificate must be issued to (PACTE_PAYPAL_CERT_NAMES)."""
    names = _get(
        "PACTE_PAYPAL_CERT_NAMES",
        "messageverificationcerts.paypal.com messageverificationcerts.sandbox.paypal.com",
    )
    return _words(names)


def paypal_cert_trust() -> str:
    """PEM file of the roots the signing certificate must chain to (PACTE_PAYPAL_CERT_TRUST; default certifi's)."""
    value = _get("PACTE_PAYPAL_CERT_TRUST", "")
    if value:
        return str(value)
    import certifi

    return str(certifi.where())


def paypal_timeout() -> float:
    """Seconds before a PayPal call is given up as "gateway unavailable" (PACTE_PAYPAL_TIMEOUT, 20)."""
    return float(_get("PACTE_PAYPAL_TIMEOUT", 20))


def paypal_return_url() -> str:
    """Where PayPal sends the buyer back after approving (PACTE_PAYPAL_RETURN_URL; default the return page)."""
    return str(
        _get("PACTE_PAYPAL_RETURN_URL", settings.PACTE_BASE_URL.rstrip("/") + "/billing/paypal/return/")
    )


def paypal_cancel_url() -> str:
    """Where PayPal sends the buyer who cancels (PACTE_PAYPAL_CANCEL_URL; default the cancel page)."""
    return str(
        _get("PACTE_PAYPAL_CANCEL_URL", settings.PACTE_BASE_URL.rstrip("/") + "/billing/paypal/cancel/")
    )
