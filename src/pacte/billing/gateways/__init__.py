"""The registry of payment gateways: by name, and per customer country from the operator's setting.

``gateway_register(name, factory)`` is called for the built-in gateways below; ``gateway_get(name)``
builds one (once per process); ``gateway_choose(country)`` returns the first ``PACTE_BILLING_GATEWAYS``
entry that serves the customer's country, ``gateway_choices_for(country)`` every one of them (the
accounts opened at activation).
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from pacte.billing import app_settings, error_codes
from pacte.billing.app_settings import GatewayChoice
from pacte.billing.gateways.base import Gateway
from pacte.core.errors import PacteError

_factories: dict[str, Callable[[], Gateway]] = {}
_instances: dict[str, Gateway] = {}


def gateway_register(name: str, factory: Callable[[], Gateway]) -> None:
    """Make the gateway ``name`` available; ``factory`` builds it (settings are read then)."""
    _factories[name] = factory
    _instances.pop(name, None)


def gateway_names() -> list[str]:
    return sorted(_factories)


def gateway_get(name: str) -> Gateway:
    """Return the gateway ``name``, or a coded error naming the known ones."""
    if name not in _factories:
        raise PacteError(
            _("There is no payment gateway %(name)s. Known gateways: %(valid)s.")
            % {"name": repr(name), "valid": ", ".join(gateway_names())},
            error_codes.UNKNOWN_GATEWAY,
        )
    if name not in _instances:
        _instances[name] = _factories[name]()
    return _instances[name]


def gateways_reset() -> None:
    """Forget built gateways (tests change settings between runs)."""
    _instances.clear()


def gateway_choices_for(country: str | None) -> list[GatewayChoice]:
    """Return every configured gateway entry that serves ``country``, in the operator's order."""
    return [choice for choice in app_settings.gateway_choices() if choice.serves(country)]


def gateway_choice(name: str) -> GatewayChoice:
    """Return the configured entry of the gateway ``name`` (its recipient), or a coded error."""
    for choice in app_settings.gateway_choices():
        if choice.gateway == name:
            return choice
    raise PacteError(
        _("The payment gateway %(name)s is not enabled here.") % {"name": repr(name)},
        error_codes.UNKNOWN_GATEWAY,
    )


def gateway_choose(country: str | None) -> GatewayChoice:
    """Return the gateway entry that takes payments of a customer in ``country``, or a coded error."""
    choices = gateway_choices_for(country)
    if not choices:
        raise PacteError(
            _("No payment gateway takes payments from customers in %(country)s.")
            % {"country": country or "?"},
            error_codes.NO_GATEWAY,
        )
    return choices[0]


def _sandbox() -> Gateway:
    from pacte.billing.gateways.sandbox import SandboxGateway

    return SandboxGateway()


def _stripe() -> Gateway:
    from pacte.billing.gateways.stripe_gateway import StripeGateway

    return StripeGateway()


gateway_register("sandbox", _sandbox)
gateway_register("stripe", _stripe)


def _paypal() -> Gateway:
    from pacte.billing.gateways.paypal import PayPalGateway

    return PayPalGateway()


gateway_register("paypal", _paypal)
