"""Payment accounts open when the holder confirms their address, at the gateways of their country."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed

from pacte.accounts.services import user_create
from pacte.billing.models import GatewayCustomer
from pacte.billing.tests.conftest import DBS, stripe_client

pytestmark = pytest.mark.django_db(databases=DBS)


def _confirm(user) -> None:
    address, _created = EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)


def test_confirming_the_address_opens_the_stripe_account_of_a_french_holder(
    stripe_gateway, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PACTE_BILLING_GATEWAYS = "stripe=stripe@FR sandbox@*"
    user = user_create(email="ada@example.fr", password="correct horse 42", name="Ada")
    with django_capture_on_commit_callbacks(execute=True):
        _confirm(user)
    accounts = list(GatewayCustomer.objects.filter(subject_id=user.subject_id).order_by("gateway"))
    # No address on the account: the operator's country (FR) decides; both entries serve FR.
    assert [a.gateway for a in accounts] == ["sandbox", "stripe"]
    stripe_account = accounts[1]
    at_stripe = stripe_client(stripe_gateway).v1.customers.retrieve(str(stripe_account.customer_ref))
    assert at_stripe.email == "ada@example.fr"


def test_a_holder_whose_address_is_abroad_gets_only_that_countrys_gateways(
    settings, django_capture_on_commit_callbacks
) -> None:
    settings.PACTE_BILLING_GATEWAYS = "stripe=stripe@FR sandbox@*"
    user = user_create(email="bo@example.de", password="correct horse 42", name="Bo")
    user.postal_address = {"lines": ["1 Hauptstraße"], "postcode": "10115", "city": "Berlin", "country": "DE"}
    user.save(update_fields=["postal_address"])
    with django_capture_on_commit_callbacks(execute=True):
        _confirm(user)
    assert list(
        GatewayCustomer.objects.filter(subject_id=user.subject_id).values_list("gateway", flat=True)
    ) == ["sandbox"]
