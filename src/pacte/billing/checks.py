"""System checks of billing: the operator's gateways agree with the code and the policy (pacte.E050, E051, E053, E054)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register

from pacte.billing import app_settings
from pacte.billing.gateways import gateway_get, gateway_names
from pacte.core.errors import PacteError
from pacte.policy.loader import PolicyFileError
from pacte.policy.selectors import policy_active
from pacte.sharing.http import check_url


@register(Tags.compatibility, "pacte")
def gateways_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Each configured gateway exists; each one that sends data is a policy recipient for ``payment``."""
    try:
        choices = app_settings.gateway_choices()
    except ValueError as error:
        return [Error(f"PACTE_BILLING_GATEWAYS: {error}", id="pacte.E050")]
    try:
        recipients = policy_active().recipients
    except PolicyFileError:
        return []  # reported by pacte.E003
    errors = []
    for choice in choices:
        if choice.gateway not in gateway_names():
            errors.append(
                Error(
                    f"PACTE_BILLING_GATEWAYS names the gateway '{choice.gateway}', which does not exist.",
                    hint=f"Use one of: {', '.join(gateway_names())}.",
                    id="pacte.E050",
                )
            )
            continue
        if gateway_get(choice.gateway).in_process:
            continue
        declared = recipients.get(choice.recipient or "")
        if declared is None or "payment" not in declared.purposes:
            errors.append(
                Error(
                    f"The gateway '{choice.gateway}' sends data to a third party, but '{choice.recipient}' "
                    "is not a recipient of the policy for the purpose 'payment'.",
                    hint="Write it NAME=RECIPIENT in PACTE_BILLING_GATEWAYS, with a recipient of the policy "
                    f"whose purposes include payment (declared: {', '.join(sorted(recipients))}).",
                    id="pacte.E050",
                )
            )
        if choice.gateway == "stripe" and declared is not None:
            try:
                check_url(recipient=choice.recipient or "", url=app_settings.stripe_api_base())
            except PacteError as refused:
                errors.append(
                    Error(
                        f"Stripe's API address cannot be called: {refused.message}",
                        hint="Declare the host of PACTE_STRIPE_API_BASE in the recipient's hosts "
                        "(api.stripe.com in production), or correct the address.",
                        id="pacte.E053",
                    )
                )
        if choice.gateway == "stripe" and not (
            app_settings.stripe_secret_key() and app_settings.stripe_webhook_secret()
        ):
            errors.append(
                Error(
                    "The Stripe gateway is enabled without its keys.",
                    hint="Set PACTE_STRIPE_SECRET_KEY (sk_…) and PACTE_STRIPE_WEBHOOK_SECRET (whsec_…).",
                    id="pacte.E051",
                )
            )
    return errors


@register(Tags.compatibility, "pacte")
def paypal_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """An enabled PayPal gateway has its credentials and webhook id, and a known environment (pacte.E054)."""
    try:
        enabled = any(choice.gateway == "paypal" for choice in app_settings.gateway_choices())
    except ValueError:
        return []  # reported by pacte.E050
    if not enabled:
        return []
    errors = []
    missing = [
        name
        for name, value in (
            ("PACTE_PAYPAL_CLIENT_ID", app_settings.paypal_client_id()),
            ("PACTE_PAYPAL_CLIENT_SECRET", app_settings.paypal_client_secret()),
            ("PACTE_PAYPAL_WEBHOOK_ID", app_settings.paypal_webhook_id()),
        )
        if not value
    ]
    if missing:
        errors.append(
            Error(
                "The PayPal gateway is enabled without " + ", ".join(missing) + ".",
                hint="Create a REST app and a webhook in PayPal's developer dashboard; see docs/operations.md.",
                id="pacte.E054",
            )
        )
    if app_settings.paypal_environment() not in ("production", "sandbox"):
        errors.append(
            Error(
                f"PACTE_PAYPAL_ENVIRONMENT is '{app_settings.paypal_environment()}'.",
                hint="Write production or sandbox.",
                id="pacte.E054",
            )
        )
    return errors
