"""Checkout and orders: totals computed on the server, one order per form, a price change shown before
confirming, states recorded in the ledger, the confirmation mail in the outbox, purchase history."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pacte.accounts.services import user_register
from pacte.commerce import selectors, services
from pacte.commerce.models import Order, OrderContact, OrderLine, Product
from pacte.commerce.selectors import cart_lines_saved
from pacte.commerce.services import cart_save
from pacte.commerce.tests.helpers import DBS, customer_make, product_make
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.messaging.models import OutboxMessage

pytestmark = pytest.mark.django_db(databases=DBS)
POLICIES = Path(__file__).resolve().parents[4] / "policies"


@pytest.fixture
def audit() -> Product:
    return product_make("audit", 49000, name_en="Site audit", name_fr="Audit de site")


@pytest.fixture
def guide() -> Product:
    return product_make("guide", 1200, "5.5", name_en="Digital guide", name_fr="Guide numérique")


def _form(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(token|quote)" value="([^"]+)"', page))


def _signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def order_make(user, lines: dict[int, int], lang: str = "en") -> Order:
    """Place an order the way the checkout page does."""
    cart_save(subject_id=user.subject_id, lines=lines)
    view = selectors.cart_view(lines=lines, lang=lang)
    order, created = services.order_place(
        customer=user,
        token=services.checkout_token_issue(subject_id=user.subject_id),
        quote=services.quote_digest(view),
        lang=lang,
    )
    assert created
    return order


def _order_entries() -> list[dict]:
    return [e.payload for e in Entry.objects.filter(type="order.state").order_by("seq")]


def test_checkout_needs_a_signed_in_customer() -> None:
    response = Client().get("/shop/checkout/")
    assert response.status_code == 302 and response["Location"].startswith(
        "/accounts/login/?next=/shop/checkout/"
    )


def test_checkout_places_one_order_pending_payment_with_server_side_totals(
    audit: Product, guide: Product
) -> None:
    user = customer_make(language="fr")
    client = _signed_in(user)
    cart_save(subject_id=user.subject_id, lines={audit.pk: 2, guide.pk: 3})
    page = client.get("/shop/checkout/").content.decode()
    assert "Ordered by Léa Roux." in page and "Confirm my order (€1,213.98 incl. VAT)" in page
    form = _form(page)
    response = client.post("/shop/checkout/", {**form, "total": "1"})  # a posted total is never read
    order = Order.objects.get()
    # billing registered its pay page (commerce.hooks): checkout ends there while the order waits for payment
    assert response.status_code == 302 and response["Location"] == f"/shop/orders/{order.pk}/pay/"
    assert (order.status, order.net_cents, order.vat_cents, order.gross_cents) == (
        "pending_payment",
        101600,
        19798,
        121398,
    )
    assert order.purpose == "order_processing" and order.buyer_name == "Léa Roux"
    lines = list(OrderLine.objects.order_by("position").values_list("product_slug", "quantity", "vat_cents"))
    assert lines == [("audit", 2, 19600), ("guide", 3, 198)]
    assert cart_lines_saved(subject_id=user.subject_id) == {}
    assert _order_entries() == [
        {"order_id": str(order.pk), "from_state": None, "to_state": "pending_payment"}
    ]
    entry = Entry.objects.get(type="order.state")
    assert entry.subject_id == user.subject_id and entry.actor == f"subject:{user.subject_id}"
    # The confirmation, through the outbox, in the customer's mail language, under the policy's purpose.
    (message,) = OutboxMessage.objects.filter(template="commerce/order_confirmation")
    assert message.purpose == "order_processing" and message.to == "lea@example.fr"
    assert message.subject_line == f"Votre commande {order.reference}"
    assert (
        "Audit de site × 2 — 980,00\u00a0€ HT" in message.body
        and "Total TTC : 1\u202f213,98\u00a0€" in message.body
    )
    assert f"/account/orders/{order.pk}/" in message.body
    detail = client.get(f"/account/orders/{order.pk}/").content.decode()
    assert f"Order {order.reference}" in detail and "Pending payment" in detail and "€1,213.98" in detail


def test_submitting_the_same_checkout_twice_places_one_order(audit: Product) -> None:
    user = customer_make()
    client = _signed_in(user)
    cart_save(subject_id=user.subject_id, lines={audit.pk: 1})
    form = _form(client.get("/shop/checkout/").content.decode())
    first = client.post("/shop/checkout/", form)
    second = client.post("/shop/checkout/", form)
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1 and len(_order_entries()) == 1
    assert OutboxMessage.objects.filter(template="commerce/order_confirmation").count() == 1


def test_a_price_changed_since_the_page_is_shown_again_before_confirming(audit: Product) -> None:
    user = customer_make()
    client = _signed_in(user)
    cart_save(subject_id=user.subject_id, lines={audit.pk: 1})
    form = _form(client.get("/shop/checkout/").content.decode())
    Product.objects.filter(pk=audit.pk).update(price_cents=52000)
    response = client.post("/shop/checkout/", form)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Your cart or its prices changed since you opened this page." in page
    assert "Confirm my order (€624.00 incl. VAT)" in page  # 520.00 + 20 %
    assert not Order.objects.exists() and not _order_entries() and not OutboxMessage.objects.exists()
    client.post("/shop/checkout/", _form(page))
    assert Order.objects.get().gross_cents == 62400


def test_a_vat_rate_or_cart_change_also_asks_again(audit: Product, guide: Product) -> None:
    user = customer_make()
    client = _signed_in(user)
    cart_save(subject_id=user.subject_id, lines={audit.pk: 1})
    form = _form(client.get("/shop/checkout/").content.decode())
    Product.objects.filter(pk=audit.pk).update(vat_rate="10.0")
    assert client.post("/shop/checkout/", form).status_code == 409
    form = _form(client.get("/shop/checkout/").content.decode())
    cart_save(subject_id=user.subject_id, lines={audit.pk: 1, guide.pk: 1})  # another tab added an item
    assert client.post("/shop/checkout/", form).status_code == 409
    assert not Order.objects.exists()


@pytest.mark.parametrize("token", ["", "forged", "someone-elses"])
def test_a_forged_or_foreign_checkout_token_is_refused(audit: Product, token: str) -> None:
    user = customer_make()
    other = customer_make("marc@example.fr")
    client = _signed_in(user)
    cart_save(subject_id=user.subject_id, lines={audit.pk: 1})
    form = _form(client.get("/shop/checkout/").content.decode())
    form["token"] = (
        services.checkout_token_issue(subject_id=other.subject_id) if token == "someone-elses" else token
    )
    response = client.post("/shop/checkout/", form)
    assert (
        response.status_code == 400
        and "This checkout page is too old or was not yours." in response.content.decode()
    )
    assert not Order.objects.exists() and not _order_entries()


def test_an_empty_cart_has_nothing_to_check_out(audit: Product) -> None:
    client = _signed_in(customer_make())
    assert client.get("/shop/checkout/")["Location"] == "/shop/cart/"
    response = client.post("/shop/checkout/", {"token": "x", "quote": "y"})
    assert response.status_code in (302, 400) and not Order.objects.exists()


def test_an_employer_account_holder_orders_for_the_organisation(audit: Product) -> None:

    user = user_register(
        email="achats@entreprise.fr",
        password="une longue phrase de passe",
        name="Nadia Benali",
        birth_date=None,
        kind="employer",
        organisation={
            "legal_name": "Entreprise SAS",
            "registration_number": "123456789",
            "authority": True,
            "postal_address": {
                "lines": ["1 rue du Port"],
                "postcode": "13002",
                "city": "Marseille",
                "country": "FR",
            },
        },
        source="portal",
    )
    client = _signed_in(user)
    cart_save(subject_id=user.subject_id, lines={audit.pk: 1})
    page = client.get("/shop/checkout/").content.decode()
    assert "Ordered by Nadia Benali for Entreprise SAS." in page
    client.post("/shop/checkout/", _form(page))
    order = Order.objects.get()
    assert (order.buyer_name, order.organisation_name) == ("Nadia Benali", "Entreprise SAS")
    assert order.billing_address["city"] == "Marseille"


def test_each_transition_is_one_ledger_entry_without_values(audit: Product) -> None:
    user = customer_make()
    order = order_make(user, {audit.pk: 1})
    services.order_mark_paid(order=order, actor="system")
    services.order_mark_paid(order=order, actor="system")  # a gateway's repeated notice: nothing more
    services.order_fulfil(order=order, actor="system")
    services.order_refund(order=order, actor="system")
    order.refresh_from_db()
    assert order.status == "refunded" and order.paid_at and order.fulfilled_at and order.refunded_at
    assert [(p["from_state"], p["to_state"]) for p in _order_entries()] == [
        (None, "pending_payment"),
        ("pending_payment", "paid"),
        ("paid", "fulfilled"),
        ("fulfilled", "refunded"),
    ]
    for entry in Entry.objects.filter(type="order.state"):
        assert set(entry.payload) == {"order_id", "from_state", "to_state"}  # no amount, no item, no name


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        (["cancel"], "order_mark_paid"),  # a cancelled order cannot be paid
        (["order_mark_paid"], "order_cancel"),  # a paid order is refunded, not cancelled
        ([], "order_fulfil"),  # not paid yet
        ([], "order_refund"),
        (["cancel"], "order_refund"),
    ],
)
def test_impossible_transitions_are_refused_and_nothing_is_recorded(audit: Product, steps, refused) -> None:
    order = order_make(customer_make(), {audit.pk: 1})
    for step in steps:
        getattr(services, "order_cancel" if step == "cancel" else step)(order=order, actor="system")
    status, entries = Order.objects.get().status, len(_order_entries())
    with pytest.raises(PacteError) as error:
        getattr(services, refused)(order=order, actor="system")
    assert error.value.code == "commerce.transition_invalid"
    assert Order.objects.get().status == status and len(_order_entries()) == entries


def test_purchase_history_lists_the_customers_orders_in_one_query(audit: Product, guide: Product) -> None:
    user = customer_make()
    first = order_make(user, {audit.pk: 1})
    second = order_make(user, {guide.pk: 3, audit.pk: 2})
    order_make(customer_make("marc@example.fr"), {audit.pk: 1})  # someone else's
    with CaptureQueriesContext(connection) as queries:
        rows = [
            (o.reference, o.item_count, o.gross_cents)
            for o in selectors.order_list(subject_id=user.subject_id)
        ]
    assert len(queries) == 1
    assert rows == [(second.reference, 5, second.gross_cents), (first.reference, 1, 58800)]
    client = _signed_in(user)
    page = client.get("/account/orders/").content.decode()
    assert "Purchase history" in page and first.reference in page and second.reference in page
    assert page.count("/account/orders/") >= 2 and "Pending payment" in page


def test_purchase_history_costs_the_same_queries_for_1_or_20_orders(audit: Product) -> None:
    user = customer_make()
    client = _signed_in(user)
    order_make(user, {audit.pk: 1})
    client.get("/account/orders/")  # the session's first request records it (throttled afterwards)
    with CaptureQueriesContext(connection) as one:
        client.get("/account/orders/")
    for _ in range(19):
        order_make(user, {audit.pk: 2})
    with CaptureQueriesContext(connection) as many:
        client.get("/account/orders/")
    assert len(many) == len(one)


def test_another_customers_order_is_not_found(audit: Product) -> None:
    order = order_make(customer_make(), {audit.pk: 1})
    other = _signed_in(customer_make("marc@example.fr"))
    response = other.get(f"/account/orders/{order.pk}/")
    assert response.status_code == 404 and order.reference not in response.content.decode()
    assert Client().get(f"/account/orders/{order.pk}/")["Location"].startswith("/accounts/login/")


def test_my_account_links_to_purchase_history() -> None:
    page = _signed_in(customer_make()).get("/account/").content.decode()
    assert '<a href="/account/orders/">Purchase history</a>' in page


def test_staff_record_a_contact_about_an_order_with_the_note_encrypted(audit: Product) -> None:
    order = order_make(customer_make(), {audit.pk: 1})
    when = timezone.now() - datetime.timedelta(hours=2)
    services.order_contact_record(
        order=order, channel="phone", contacted_at=when, note="Rappelée pour la facture", actor="system"
    )
    raw = OrderContact.objects.values_list("note", flat=True).get()
    assert raw.startswith("v1:") and "facture" not in raw
    assert OrderContact.objects.get().note == "Rappelée pour la facture"
    with pytest.raises(PacteError):
        services.order_contact_record(
            order=order, channel="phone", contacted_at=when, note="  ", actor="system"
        )
    assert OrderContact.objects.count() == 1


def test_under_a_policy_without_order_processing_orders_fall_under_billing(audit: Product, settings) -> None:
    settings.PACTE_POLICY_FILE = str(POLICIES / "aplusc.toml")
    order = order_make(customer_make(), {audit.pk: 1})
    assert order.purpose == "billing"
    assert OutboxMessage.objects.get(template="commerce/order_confirmation").purpose == "billing"
