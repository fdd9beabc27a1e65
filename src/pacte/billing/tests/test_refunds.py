"""Staff refund a paid order from the admin, in full or in part, through the gateway."""

from __future__ import annotations

import pytest
from django.test import Client

from pacte.accounts.models import User
from pacte.billing.flows.orders import TypedCard, order_pay
from pacte.billing.models import PaymentAttempt
from pacte.commerce.tests.helpers import DBS, customer_make, product_make
from pacte.commerce.tests.test_orders import order_make
from pacte.sharing.tests import test_webhooks

pytestmark = pytest.mark.django_db(databases=DBS)
CHANGELIST = "/admin/billing/paymentattempt/"


@pytest.fixture
def paid(django_capture_on_commit_callbacks):
    user = customer_make(email="ada@example.fr", name="Ada Lovelace")
    order = order_make(user, {product_make("audit", 10000).pk: 1})  # 120.00 incl. VAT
    with django_capture_on_commit_callbacks(execute=True):
        attempt = order_pay(order=order, actor="system", card=TypedCard("4242424242424242", 12, 2031, "123"))
    return order, PaymentAttempt.objects.get(pk=attempt.pk)


@pytest.fixture
def staff() -> Client:
    """A superuser signed in with password and TOTP (sharing's fixture: the admin requires MFA)."""
    return test_webhooks.staff_client.__wrapped__()


def test_a_partial_refund_leaves_the_order_paid_and_the_rest_refunds_it(paid, staff) -> None:
    order, attempt = paid
    assert attempt.state == "paid"
    order.refresh_from_db()
    assert order.status == "paid"
    form = staff.post(CHANGELIST, {"action": "refund_part", "_selected_action": [str(attempt.pk)]})
    assert form.status_code == 200 and b"left to refund: 12000 cents" in form.content
    staff.post(CHANGELIST, {"action": "refund_part", "_selected_action": [str(attempt.pk)], "amount": "2000"})
    attempt.refresh_from_db()
    order.refresh_from_db()
    assert (attempt.state, attempt.refunded_amount, order.status) == ("partially_refunded", 2000, "paid")

    too_much = staff.post(
        CHANGELIST, {"action": "refund_part", "_selected_action": [str(attempt.pk)], "amount": "99999"}
    )
    assert too_much.status_code == 200
    attempt.refresh_from_db()
    assert attempt.refunded_amount == 2000  # refused, nothing changed

    staff.post(CHANGELIST, {"action": "refund_full", "_selected_action": [str(attempt.pk)]})
    attempt.refresh_from_db()
    order.refresh_from_db()
    assert (attempt.state, attempt.refunded_amount, order.status) == ("refunded", 12000, "refunded")


def test_seeing_payments_is_not_enough_to_refund_them(paid, staff) -> None:
    from django.contrib.auth.models import Permission

    order, attempt = paid
    agent = User.objects.get(is_staff=True)
    agent.is_superuser = False
    agent.save(update_fields=["is_superuser"])
    agent.user_permissions.set([Permission.objects.get(codename="view_paymentattempt")])
    page = staff.get(CHANGELIST)
    assert page.status_code == 200 and b'value="refund_full"' not in page.content
    for action in ("refund_full", "refund_part"):
        staff.post(CHANGELIST, {"action": action, "_selected_action": [str(attempt.pk)], "amount": "100"})
    attempt.refresh_from_db()
    order.refresh_from_db()
    assert (attempt.state, attempt.refunded_amount, order.status) == ("paid", 0, "paid")
    agent.user_permissions.add(Permission.objects.get(codename="refund_paymentattempt"))
    assert b'value="refund_full"' in staff.get(CHANGELIST).content
