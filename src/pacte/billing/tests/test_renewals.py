"""Renewals charged with the saved card: paid at once; declined → mailed, retried 1, 3, 7 days later,
then suspended (the callback commerce2's subscriptions will register)."""

from __future__ import annotations

import pytest

from pacte.billing.flows.orders import TypedCard, order_pay, order_payable
from pacte.billing.flows.renewals import (
    RENEWAL_RETRY_DAYS,
    renewal_charge,
    renewal_charge_order,
    renewal_suspended_register,
    renewal_suspended_unregister,
)
from pacte.billing.gateways import gateway_get
from pacte.billing.models import PaymentAttempt
from pacte.billing.services import payment_method_store
from pacte.billing.tasks import renewal_retry
from pacte.commerce.tests.helpers import DBS, customer_make, product_make
from pacte.commerce.tests.test_orders import order_make
from pacte.messaging.models import OutboxMessage

pytestmark = pytest.mark.django_db(databases=DBS)


@pytest.fixture
def subscriber(django_capture_on_commit_callbacks):
    """A customer who paid a first order and saved the card ``number``; returns (user, make_order)."""

    def make(number: str = "4242424242424242"):
        user = customer_make(email="ada@example.fr", name="Ada Lovelace")
        plan = product_make("plan", 1000)
        first = order_make(user, {plan.pk: 1})
        if number.endswith("0002"):  # a card that declines: saved as the pay page would have saved it
            details = gateway_get("sandbox").payment_method_create(
                number=number, exp_month=12, exp_year=2031, cvc="123"
            )
            payment_method_store(
                subject_id=user.subject_id, gateway="sandbox", details=details, actor="system"
            )
        else:
            with django_capture_on_commit_callbacks(execute=True):
                order_pay(order=first, actor="system", card=TypedCard(number, 12, 2031, "123"), save=True)
        return user, lambda: order_make(user, {plan.pk: 1})

    return make


def test_a_renewal_is_paid_with_the_saved_card(subscriber, django_capture_on_commit_callbacks) -> None:
    _user, next_order = subscriber()
    renewal = next_order()
    with django_capture_on_commit_callbacks(execute=True):
        assert renewal_charge_order(order_id=renewal.pk) == "processing"
    renewal.refresh_from_db()
    assert renewal.status == "paid"
    assert PaymentAttempt.objects.get(reference=renewal.pk).state == "paid"


def test_no_saved_card_charges_nothing() -> None:
    user = customer_make(email="bob@example.fr", name="Bob")
    order = order_make(user, {product_make("plan", 1000).pk: 1})
    assert renewal_charge(payable=order_payable(order=order)) == "no_method"
    assert not PaymentAttempt.objects.exists()


def test_a_declined_renewal_is_mailed_retried_then_suspended(
    subscriber, django_capture_on_commit_callbacks
) -> None:
    user, next_order = subscriber("4000000000000002")
    renewal = next_order()
    suspended: list = []

    def suspend(*, reference, subject_id) -> None:
        suspended.append((reference, subject_id))

    renewal_suspended_register(suspend)
    try:
        assert renewal_charge_order(order_id=renewal.pk) == "retry_planned"
        for tries in range(1, len(RENEWAL_RETRY_DAYS)):
            assert renewal_retry.call(order_id=str(renewal.pk), tries=tries) == "retry_planned"
        assert renewal_retry.call(order_id=str(renewal.pk), tries=len(RENEWAL_RETRY_DAYS)) == "suspended"
    finally:
        renewal_suspended_unregister(suspend)
    assert suspended == [(renewal.pk, user.subject_id)]
    renewal.refresh_from_db()
    assert renewal.status == "pending_payment"
    mails = OutboxMessage.objects.filter(template="billing/payment_failed")
    assert mails.count() == len(RENEWAL_RETRY_DAYS) + 1
    assert PaymentAttempt.objects.filter(reference=renewal.pk, state="failed").count() == 4
