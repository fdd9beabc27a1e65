"""Subscriptions: a paid plan line starts one; renewal places the next period's order pending payment;
cancelling takes two clicks, is confirmed by mail, takes effect at the period's end, and no order (so no
order mail) follows it."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from pacte.commerce import services, subscriptions
from pacte.commerce.models import Order, Subscription
from pacte.commerce.tests.helpers import DBS, customer_make, product_make
from pacte.commerce.tests.test_orders import order_make
from pacte.ledger.models import Entry
from pacte.messaging.models import OutboxMessage

pytestmark = pytest.mark.django_db(databases=DBS)


@pytest.fixture
def plan():
    return product_make("plan-essential", 1900, kind="plan", period="month", name_en="Essential plan")


@pytest.fixture
def paid(plan):
    user = customer_make(language="en")
    audit = product_make("audit", 49000)
    order = order_make(user, {plan.pk: 1, audit.pk: 1})
    services.order_mark_paid(order=order, actor="system")
    return user, order


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _states() -> list[tuple]:
    return [
        (e.payload["from_state"], e.payload["to_state"])
        for e in Entry.objects.filter(type="subscription.state").order_by("seq")
    ]


def test_months_later_keeps_the_day_or_takes_the_last_of_the_month() -> None:
    tz = datetime.UTC
    assert subscriptions.months_later(datetime.datetime(2026, 1, 31, tzinfo=tz), 1).date() == datetime.date(
        2026, 2, 28
    )
    assert subscriptions.months_later(datetime.datetime(2027, 12, 15, tzinfo=tz), 1).date() == datetime.date(
        2028, 1, 15
    )
    assert subscriptions.months_later(datetime.datetime(2028, 2, 29, tzinfo=tz), 12).date() == datetime.date(
        2029, 2, 28
    )


def test_a_paid_plan_line_starts_one_subscription_and_only_once(paid, plan) -> None:
    user, order = paid
    order.refresh_from_db()
    sub = Subscription.objects.get()
    assert (sub.subject_id, sub.plan_id, sub.order_id, sub.state) == (
        user.subject_id,
        plan.pk,
        order.pk,
        "active",
    )
    assert sub.period_start == order.paid_at
    assert sub.period_end == subscriptions.months_later(order.paid_at, 1)
    services.order_mark_paid(order=order, actor="system")  # a repeated notification
    assert Subscription.objects.count() == 1 and _states() == [(None, "active")]


def test_an_unpaid_order_starts_nothing(plan) -> None:
    user = customer_make()
    order_make(user, {plan.pk: 1})
    assert not Subscription.objects.exists()


def test_renewal_places_the_next_periods_order_pending_payment_once(paid, plan) -> None:
    user, first = paid
    sub = Subscription.objects.get()
    end = sub.period_end
    assert subscriptions.subscriptions_renew_due(now=end - datetime.timedelta(seconds=1)) == {
        "renewed": 0,
        "ended": 0,
    }
    mails_before = OutboxMessage.objects.count()
    assert subscriptions.subscriptions_renew_due(now=end) == {"renewed": 1, "ended": 0}
    assert subscriptions.subscriptions_renew_due(now=end) == {"renewed": 0, "ended": 0}  # once
    renewal = Order.objects.get(renews=sub)
    assert renewal.status == "pending_payment" and renewal.gross_cents == 2280  # 19 € + 20 % VAT
    assert [line.product_slug for line in renewal.lines.all()] == ["plan-essential"]
    assert str(renewal.buyer_name) == "Léa Roux"
    sub.refresh_from_db()
    assert sub.period_start == end and sub.period_end == subscriptions.months_later(end, 1)
    assert OutboxMessage.objects.count() == mails_before + 1  # the renewal's order mail
    # Paying the renewal starts no second subscription.
    services.order_mark_paid(order=renewal, actor="system")
    assert Subscription.objects.count() == 1


def test_cancel_in_two_clicks_confirmed_by_mail_then_no_more_orders_or_order_mails(
    paid, django_capture_on_commit_callbacks
) -> None:
    user, _order = paid
    sub = Subscription.objects.get()
    client = _client(user)
    listing = client.get("/account/subscriptions/").content.decode()
    assert "Essential plan" in listing and f"/account/subscriptions/{sub.pk}/cancel/" in listing
    confirm = client.get(f"/account/subscriptions/{sub.pk}/cancel/")  # first click: the confirm page
    assert confirm.status_code == 200 and "Yes, cancel my subscription" in confirm.content.decode()
    sub.refresh_from_db()
    assert sub.state == "active"  # a GET changes nothing
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/account/subscriptions/{sub.pk}/cancel/")  # second click
    assert response.status_code == 302 and response["Location"] == "/account/subscriptions/"
    sub.refresh_from_db()
    assert sub.state == "cancel_at_period_end" and sub.cancelled_at is not None
    (sent,) = mail.outbox
    assert (
        sent.to == ["lea@example.fr"] and sent.subject == "Your subscription to Essential plan is cancelled"
    )
    assert _states() == [(None, "active"), ("active", "cancel_at_period_end")]
    # A second cancellation is refused, with no mail.
    again = client.post(f"/account/subscriptions/{sub.pk}/cancel/")
    assert again.status_code == 409 and len(mail.outbox) == 1
    # At the period's end: it ends; no order, no order mail, now or later.
    orders, messages = Order.objects.count(), OutboxMessage.objects.count()
    assert subscriptions.subscriptions_renew_due(now=sub.period_end) == {"renewed": 0, "ended": 1}
    assert subscriptions.subscriptions_renew_due(now=sub.period_end + datetime.timedelta(days=400)) == {
        "renewed": 0,
        "ended": 0,
    }
    sub.refresh_from_db()
    assert sub.state == "ended" and sub.ended_at == sub.period_end
    assert Order.objects.count() == orders and OutboxMessage.objects.count() == messages
    assert not OutboxMessage.objects.filter(
        template="commerce/order_confirmation", created_at__gt=sub.cancelled_at
    ).exists()


def test_someone_elses_subscription_is_not_found(paid) -> None:
    _user, _order = paid
    sub = Subscription.objects.get()
    other = customer_make("paul@example.fr", name="Paul")
    client = _client(other)
    assert client.get(f"/account/subscriptions/{sub.pk}/cancel/").status_code == 404
    assert client.post(f"/account/subscriptions/{sub.pk}/cancel/").status_code == 404
    sub.refresh_from_db()
    assert sub.state == "active"


def test_a_withdrawn_plan_ends_at_the_period_end(paid, plan) -> None:
    sub = Subscription.objects.get()
    plan.active = False
    services.product_save(product=plan)
    assert subscriptions.subscriptions_renew_due(now=sub.period_end) == {"renewed": 0, "ended": 1}
    assert not Order.objects.filter(renews=sub).exists()


def test_the_period_check_constraint_holds(paid) -> None:
    from django.db import IntegrityError, transaction

    sub = Subscription.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.filter(pk=sub.pk).update(
            period_end=timezone.now() - datetime.timedelta(days=400)
        )
