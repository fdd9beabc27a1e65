"""Payment accounts: the customer records Pacte opens for a person at the gateways, and closes.

PluSuite's terms: at activation Pacte opens the holder's account at the gateways the operator sets for
their country (``gateway_accounts_open``, hooked to activation by the accounts app); the holder may
deactivate each one from My account (``gateway_account_close``): Pacte deletes it at the gateway and
records it. Opening sends the e-mail address only (and the name when the caller has it), through the
sharing gate.
"""

from __future__ import annotations

import uuid

from django.utils.translation import gettext as _

from pacte.billing import error_codes, services
from pacte.billing.gateways import gateway_choice, gateway_choices_for, gateway_get
from pacte.billing.gateways.base import GatewayRefused, GatewayUnavailable
from pacte.billing.models import GatewayCustomer
from pacte.billing.selectors import access_gateway_account, gateway_account_active
from pacte.core.errors import PacteError


def gateway_account_open(
    *, subject_id: uuid.UUID, gateway: str, email: str, name: str, actor: str
) -> GatewayCustomer:
    """Open the person's customer record at ``gateway`` (or return the open one)."""
    existing = gateway_account_active(subject_id=subject_id, gateway=gateway)
    if existing is not None:
        return existing
    choice = gateway_choice(gateway)
    implementation = gateway_get(gateway)
    payload = services.gateway_account_disclose(
        subject_id=subject_id, choice=choice, email=email, name=name, actor=actor
    )
    try:
        customer_ref = implementation.customer_create(
            payload=payload, idempotency_key=f"pacte-{subject_id}-{gateway}-customer"
        )
    except GatewayUnavailable:
        raise PacteError(
            _("The payment service %(gateway)s does not answer right now; please try again later.")
            % {"gateway": gateway},
            error_codes.GATEWAY_UNAVAILABLE,
            status=503,
        ) from None
    except GatewayRefused as refused:
        raise PacteError(
            _("The payment service refused to open the account (%(code)s).") % {"code": refused.code},
            error_codes.GATEWAY_ERROR,
        ) from None
    return services.gateway_account_record(
        subject_id=subject_id, choice=choice, customer_ref=customer_ref, actor=actor
    )


def gateway_accounts_open(
    *, subject_id: uuid.UUID, country: str | None, actor: str = "system"
) -> list[GatewayCustomer]:
    """Open the person's accounts at every gateway the operator sets for ``country`` (at activation).

    Sends the e-mail address of the account (the name is not needed to open one). A subject without an
    account address gets nothing opened.
    """
    from pacte.accounts.selectors import account_contact

    contact = account_contact(subject_id=subject_id)
    if contact is None or not contact.address:
        return []
    return [
        gateway_account_open(
            subject_id=subject_id, gateway=choice.gateway, email=contact.address, name="", actor=actor
        )
        for choice in gateway_choices_for(country)
    ]


def gateway_account_close(
    *, holder_subject_id: uuid.UUID, account_id: uuid.UUID, actor: str
) -> GatewayCustomer:
    """Delete the holder's account at its gateway, then record it closed (the holder's own only)."""
    account = access_gateway_account(subject_id=holder_subject_id, account_id=account_id)
    if not account.active:
        return account
    try:
        gateway_get(account.gateway).customer_delete(customer_id=str(account.customer_ref))
    except GatewayUnavailable:
        raise PacteError(
            _(
                "The payment service %(gateway)s does not answer right now; your account there is unchanged. Please try again later."
            )
            % {"gateway": account.gateway},
            error_codes.GATEWAY_UNAVAILABLE,
            status=503,
        ) from None
    return services.gateway_account_closed(account_id=account.id, reason="holder", actor=actor)
