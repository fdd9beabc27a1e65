"""Stripe-hosted Checkout (live keys, no Stripe.js): the pay page redirects to a Checkout Session made through
the SDK and the gate, and the signed ``checkout.session.completed`` webhook pays the order. Against a small
local Checkout (``stripe_checkout_server.py``) in front of localstripe, as its own process."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.live import free_port

from pacte.billing import app_settings
from pacte.billing.flows.payment import payment_refund
from pacte.billing.gateways import gateway_get, gateways_reset
from pacte.billing.models import GatewayCustomer, PaymentAttempt
from pacte.billing.tests.conftest import DBS, stripe_client, stripe_signed
from pacte.commerce.tests.helpers import customer_make, product_make
from pacte.commerce.tests.test_orders import order_make
from pacte.ledger.models import Entry
from pacte.sharing import http

pytestmark = pytest.mark.django_db(databases=DBS)
WEBHOOK = "/billing/webhooks/stripe/"


class LocalCheckout:
    def __init__(self, base: str) -> None:
        self.base = base

    def _call(self, method: str, path: str) -> Any:
        import http.client
        import json

        connection = http.client.HTTPConnection("127.0.0.1", int(self.base.rsplit(":", 1)[1]), timeout=30)
        try:
            connection.request(method, path, b"" if method == "POST" else None)
            answer = connection.getresponse()
            content = answer.read()
            assert answer.status == 200, content
            return json.loads(content)
        finally:
            connection.close()

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/_test/state")

    def complete(self, session_id: str) -> dict[str, Any]:
        """The buyer pays on the hosted page; return the (unsigned) ``checkout.session.completed`` event."""
        return self._call("POST", f"/_test/complete/{session_id}")


@pytest.fixture(scope="session")
def local_checkout(localstripe: str) -> Iterator[LocalCheckout]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pacte.billing.tests.stripe_checkout_server", "--port", str(port),
         "--upstream", localstripe],
    )  # fmt: skip
    checkout = LocalCheckout(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:
        try:
            checkout.state()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the local Stripe Checkout did not start")
            time.sleep(0.1)
    try:
        yield checkout
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def hosted(stripe_gateway: str, local_checkout: LocalCheckout, settings: Any) -> LocalCheckout:
    """Stripe at the local Checkout (localstripe behind it), with hosted Checkout on."""
    settings.PACTE_STRIPE_API_BASE = local_checkout.base
    settings.PACTE_STRIPE_CHECKOUT = "hosted"
    gateways_reset()
    return local_checkout


def _order(email: str = "ada@example.fr") -> Any:
    user = customer_make(email=email, name="Ada Lovelace")
    return user, order_make(user, {product_make(f"audit-{email[:3]}", 49000).pk: 1})


def test_the_pay_page_redirects_to_stripe_checkout_and_the_signed_webhook_pays_the_order(
    hosted, client, settings
) -> None:
    user, order = _order()
    client.force_login(user)
    page = client.get(f"/shop/orders/{order.pk}/pay/")
    assert page.status_code == 200
    assert b'name="checkout" value="hosted"' in page.content and b'name="number"' not in page.content
    # Browsers check the redirect after a form's POST against form-action: opened to the session's origin.
    form_action = next(
        d for d in page["Content-Security-Policy"].split(";") if d.strip().startswith("form-action")
    )
    assert hosted.base in form_action.split() and "'self'" in form_action.split()

    response = client.post(f"/shop/orders/{order.pk}/pay/", {"checkout": "hosted"})

    assert response.status_code == 302
    [session] = hosted.state()["sessions"].values()
    assert response["Location"] == session["url"] == f"{hosted.base}/c/pay/{session['id']}"
    account = GatewayCustomer.objects.get(subject_id=user.subject_id, gateway="stripe")
    back = f"{settings.PACTE_BASE_URL.rstrip('/')}/shop/orders/{order.pk}/pay/"
    assert (session["mode"], session["amount_total"], session["currency"]) == (
        "payment",
        order.gross_cents,
        "eur",
    )
    assert (session["customer"], session["client_reference_id"]) == (str(account.customer_ref), str(order.pk))
    assert (session["success_url"], session["cancel_url"]) == (
        f"{back}?checkout=done",
        f"{back}?checkout=cancelled",
    )
    attempt = PaymentAttempt.objects.get(reference=order.pk)
    assert (attempt.state, attempt.gateway_id) == ("pending", session["id"])

    # A second click while the session is open: the same page, one payment.
    again = client.post(f"/shop/orders/{order.pk}/pay/", {"checkout": "hosted"})
    assert again["Location"] == session["url"] and len(hosted.state()["sessions"]) == 1

    event = hosted.complete(session["id"])
    body, signature = stripe_signed(event)
    answer = client.post(
        WEBHOOK, data=body, content_type="application/json", headers={"Stripe-Signature": signature}
    )
    assert answer.status_code == 200 and answer.json()["outcome"] == "applied"
    order.refresh_from_db()
    assert order.status == "paid"
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "paid"
    # Delivered twice: nothing more.
    replay = client.post(
        WEBHOOK, data=body, content_type="application/json", headers={"Stripe-Signature": signature}
    )
    assert replay.json()["outcome"] == "duplicate"

    # Refunds reach the PaymentIntent the session made (at localstripe).
    refunded = payment_refund(attempt_id=attempt.id, amount=1000, actor=f"staff:{user.subject_id}")
    assert (refunded.state, refunded.refunded_amount) == ("partially_refunded", 1000)
    intent = stripe_client(hosted.base).v1.payment_intents.retrieve(
        hosted.state()["sessions"][session["id"]]["payment_intent"]
    )
    assert intent.status == "succeeded"


def test_a_forged_or_unsigned_checkout_webhook_changes_nothing(hosted, client) -> None:
    user, order = _order("bob@example.fr")
    client.force_login(user)
    client.post(f"/shop/orders/{order.pk}/pay/", {"checkout": "hosted"})
    attempt = PaymentAttempt.objects.get(reference=order.pk)
    event = hosted.complete(attempt.gateway_id)
    body, _signature = stripe_signed(event, secret="whsec_not_the_endpoints")  # noqa: S106
    _good_body, good = stripe_signed(event)
    forged = client.post(
        WEBHOOK, data=body, content_type="application/json", headers={"Stripe-Signature": _signature}
    )
    # A valid signature of another body does not verify this one.
    tampered = client.post(
        WEBHOOK,
        data=body.replace(b'"paid"', b'"unpaid"'),
        content_type="application/json",
        headers={"Stripe-Signature": good},
    )
    assert forged.status_code == tampered.status_code == 400
    assert PaymentAttempt.objects.get(pk=attempt.id).state == "pending"
    order.refresh_from_db()
    assert order.status == "pending_payment"


def test_the_checkout_session_carries_and_discloses_the_order_and_customer_id_only(
    hosted, client, monkeypatch
) -> None:
    seen: list[str] = []
    real_send = http.send

    def counted(**kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs["recipient"])
        return real_send(**kwargs)

    monkeypatch.setattr(http, "send", counted)
    before = len(hosted.state()["received"])
    user, order = _order("cyd@example.fr")
    client.force_login(user)
    client.post(f"/shop/orders/{order.pk}/pay/", {"checkout": "hosted"})

    received = hosted.state()["received"][before:]
    assert len(received) == len(seen) and set(seen) == {"stripe"}  # every request through the gate
    [create] = [r for r in received if r["path"] == "/v1/checkout/sessions"]
    # No e-mail address, no name of the buyer (the product's name is the order's lines).
    assert [k for k in create["keys"] if "email" in k or ("name" in k and "product_data" not in k)] == []
    assert "customer" in create["keys"] and "line_items[0][price_data][unit_amount]" in create["keys"]
    disclosures = [
        e.payload for e in Entry.objects.filter(type="disclosure", subject_id=user.subject_id).order_by("seq")
    ]
    assert disclosures == [
        {"recipient": "stripe", "purpose": "payment", "categories": ["contact.email", "identity.name"]},
        {
            "recipient": "stripe",
            "purpose": "payment",
            "categories": ["billing.payment_token", "commerce.orders"],
        },
    ]


def test_hosted_checkout_is_the_default_with_a_live_key_and_the_card_page_with_a_test_key(settings) -> None:
    settings.PACTE_STRIPE_CHECKOUT = ""
    settings.PACTE_STRIPE_SECRET_KEY = "sk_live_pacte"
    assert app_settings.stripe_checkout() == "hosted"
    gateways_reset()
    assert gateway_get("stripe").checkout_hosted() and not gateway_get("stripe").card_form()
    settings.PACTE_STRIPE_SECRET_KEY = "sk_test_pacte"
    gateways_reset()
    assert app_settings.stripe_checkout() == "card"
    assert gateway_get("stripe").card_form() and not gateway_get("stripe").checkout_hosted()
    settings.PACTE_STRIPE_CHECKOUT = "hosted"
    gateways_reset()
    assert gateway_get("stripe").checkout_hosted() and not gateway_get("stripe").card_form()
