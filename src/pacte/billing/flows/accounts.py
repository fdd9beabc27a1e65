"""Payment accounts: the customer records Pacte opens for a person at the gateways, and closes.

PluSuite's terms: at activation Pacte opens the holder's account at the gateways the operator sets for
their country (``gateway_accounts_open``, hooked to activation by the accounts app); the holder may
deactivate each one from My account (``gateway_account_close``): Pacte deletes it at the gateway and
records it. Opening sends what the gateway's ``customer_create`` really sends (``Gateway.sends``: Stripe
the e-mail address, and the name when the caller has it; PayPal nothing about the person), checked by the
sharing gate before the call and recorded as a disclosure only once the gateway answered.
"""

from __future__ import annotations

import uuid

from django.utils.translation import gettext as _

from pacte.accounts.selectors import account_contact
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
    sends = implementation.sent_fields("customer_create")
    data = {
        key: item
        for key, item in services.gateway_account_data(email=email, name=name).items()
        if key in sends
    }
    payload = services.gateway_disclosure_check(
        recipient=choice.recipient or "", subject_id=subject_id, data=data, actor=actor
    )
    sent = {key: data[key] for key in payload}
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
        # The gateway answered: what the call carried reached it, even though it said no.
        services.gateway_disclosure_record(
            recipient=choice.recipient or "", subject_id=subject_id, sent=sent, actor=actor
        )
        raise PacteError(
            _("The payment service refused to open the account (%(code)s).") % {"code": refused.code},
            error_codes.GATEWAY_ERROR,
        ) from None
    return services.gateway_account_record(
        subject_id=subject_id, choice=choice, customer_ref=customer_ref, actor=actor, sent=sent
    )


def gateway_accounts_open(
    *, subject_id: uuid.UUID, country: str | None, actor: str = "system"
) -> list[GatewayCustomer]:
    """Open the person's accounts at every gateway the operator sets for ``country`` (at activation).

    Gives the e-mail address of the account (the name is not needed to open one) to gateways whose
    ``customer_create`` sends it. A subject without an account address gets nothing opened.
    """

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
