"""Renewals charged with the saved card: paid at once; declined → mailed, retried 1, 3, 7 days later,
then suspended (the callback commerce2's subscriptions will register)."""

from __future__ import annotations

import datetime

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
from pacte.commerce.models import Order, Subscription
from pacte.commerce.services import order_mark_paid
from pacte.commerce.subscriptions import subscriptions_renew_due
from pacte.commerce.tests.helpers import DBS, customer_make, product_make
from pacte.commerce.tests.test_orders import order_make
from pacte.ledger.models import Entry
from pacte.messaging.models import OutboxMessage

pytestmark = pytest.mark.django_db(databases=DBS)


@pytest.fixture
def subscriber(django_capture_on_commit_callbacks):
    """A customer who paid a first order and saved the card ``number``; returns (user, make_order)."""

    def make(number: str = "4242424242424242"):
        user = customer_make(email="ada@example.fr", name="Ada Lovelace")
        plan = product_make("plan", 1000, kind="plan", period="month")
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


def _due(user):
    """Move the customer's subscription to the end of its period; return it."""
    from django.utils import timezone

    if not Subscription.objects.filter(subject_id=user.subject_id).exists():
        # The declining card's fixture leaves the first order unpaid: it was paid some other way.
        order_mark_paid(order=Order.objects.get(subject_id=user.subject_id), actor="system")
    sub = Subscription.objects.get(subject_id=user.subject_id)
    now = timezone.now()
    Subscription.objects.filter(pk=sub.pk).update(
        period_start=now - datetime.timedelta(days=31), period_end=now - datetime.timedelta(minutes=1)
    )
    sub.refresh_from_db()
    return sub


def test_the_hourly_renewal_charges_the_saved_card_and_the_new_period_is_paid(
    subscriber, django_capture_on_commit_callbacks
) -> None:

    user, _next_order = subscriber()
    sub = _due(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_renew_due()["renewed"] == 1
    renewal = Order.objects.get(renews=sub)
    assert renewal.status == "paid"  # the task ran (immediate backend in tests) and the card paid it
    sub.refresh_from_db()
    assert sub.state == "active" and sub.period_end > renewal.created_at


def test_a_renewal_that_cannot_be_paid_suspends_the_subscription_and_paying_by_hand_resumes_it(
    subscriber, django_capture_on_commit_callbacks
) -> None:

    user, _next_order = subscriber("4000000000000002")
    sub = _due(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_renew_due()["renewed"] == 1
    renewal = Order.objects.get(renews=sub)
    assert renewal.status == "pending_payment"
    for tries in range(1, len(RENEWAL_RETRY_DAYS) + 1):
        renewal_retry.call(order_id=str(renewal.pk), tries=tries)
    sub.refresh_from_db()
    assert sub.state == "suspended"
    # A suspended subscription is not renewed again, however late.
    Subscription.objects.filter(pk=sub.pk).update(
        period_start=sub.period_start - datetime.timedelta(days=400),
        period_end=sub.period_start - datetime.timedelta(days=399),
    )
    assert subscriptions_renew_due() == {"renewed": 0, "ended": 0}
    # The customer pays the pending renewal by hand with a card that works: the subscription resumes.
    with django_capture_on_commit_callbacks(execute=True):
        order_pay(
            order=renewal, actor="system", card=TypedCard("4242424242424242", 12, 2031, "123"), save=False
        )
    renewal.refresh_from_db()
    sub.refresh_from_db()
    assert renewal.status == "paid" and sub.state == "active"
    states = [
        (e.payload["from_state"], e.payload["to_state"])
        for e in Entry.objects.filter(type="subscription.state").order_by("seq")
    ]
    assert ("active", "suspended") in states and ("suspended", "active") in states
