"""The cart: a signed cookie of ids and quantities for visitors, the database for customers, merged at
sign-in; every bad input refused in the page's language with nothing changed, never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import signing
from django.test import Client

from pacte.commerce import cart
from pacte.commerce.models import Cart, CartLine, Product
from pacte.commerce.selectors import cart_lines_saved
from pacte.commerce.services import cart_merge, cart_save
from pacte.commerce.tests.helpers import (
    DBS,
    PASSWORD,
    cookie_forge,
    cookie_lines,
    customer_make,
    product_make,
)

pytestmark = pytest.mark.django_db(databases=DBS)
POLICIES = Path(__file__).resolve().parents[4] / "policies"


@pytest.fixture
def audit() -> Product:
    return product_make("audit", 49000)


@pytest.fixture
def guide() -> Product:
    return product_make("guide", 1200, "5.5")


def _add(client: Client, product: object, quantity: object = 1, action: str = "add"):
    return client.post("/shop/cart/", {"action": action, "product": product, "quantity": quantity})


def test_a_visitors_cart_is_a_signed_cookie_of_ids_and_quantities_for_the_policys_30_days(
    audit: Product, guide: Product
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = _add(client, audit.pk, 2)
    assert response.status_code == 302 and response["Location"] == "/shop/cart/"
    _add(client, guide.pk, 3)
    morsel = client.cookies[cart.COOKIE]
    assert morsel["max-age"] == 30 * 86400 and morsel["httponly"] and morsel["samesite"] == "Lax"
    data = signing.loads(morsel.value, salt=cart.SALT)
    assert data["l"] == [[audit.pk, 2], [guide.pk, 3]] and set(data) == {"n", "l"}
    page = client.get("/shop/cart/").content.decode()
    # 2 × 490.00 + 20 % and 3 × 12.00 + 5.5 % (1.98): 980.00 + 36.00 = 1,016.00; VAT 196.00 + 1.98
    assert "€980.00" in page and "€1,016.00" in page and "€197.98" in page and "€1,213.98" in page
    _add(client, audit.pk, 5, action="update")
    _add(client, guide.pk, action="remove")
    assert cookie_lines(client) == [[audit.pk, 5]]
    _add(client, audit.pk, action="remove")
    assert cookie_lines(client) is None  # an empty cart is no cookie at all


@pytest.mark.parametrize("quantity", ["0", "-1", "100", "1000000", "abc", "1.5", "", " ", "2e1", "٣"])
def test_a_bad_quantity_is_refused_and_the_cart_is_unchanged(audit: Product, quantity: str) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    _add(client, audit.pk, 1)
    before = client.cookies[cart.COOKIE].value
    for action in ("add", "update"):
        response = _add(client, audit.pk, quantity, action=action)
        assert response.status_code == 400
        assert "Choose a quantity from 1 to 99." in response.content.decode()
        assert cart.COOKIE not in response.cookies
    assert client.cookies[cart.COOKIE].value == before


def test_more_than_99_of_one_item_is_refused(audit: Product) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    _add(client, audit.pk, 60)
    response = _add(client, audit.pk, 40)
    assert response.status_code == 400
    assert "Vous pouvez commander au plus 99 exemplaires d’un article." in response.content.decode()
    assert cookie_lines(client) == [[audit.pk, 60]]


@pytest.mark.parametrize("product", ["999999", "-3", "abc", "", "1" * 40, "withdrawn"])
def test_an_unknown_or_withdrawn_product_is_refused(audit: Product, product: str) -> None:
    withdrawn = product_make("old", 100, active=False)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = _add(client, withdrawn.pk if product == "withdrawn" else product, 1)
    assert response.status_code == 400
    assert "This item is not on sale (any more)." in response.content.decode()
    assert cart.COOKIE not in response.cookies


def test_an_unknown_action_is_refused(audit: Product) -> None:
    response = _add(Client(HTTP_ACCEPT_LANGUAGE="en"), audit.pk, 1, action="empty-the-shop")
    assert response.status_code == 400 and cart.COOKIE not in response.cookies


def test_a_cart_holds_30_different_items_at_most(settings) -> None:
    settings.PACTE_COMMERCE_CART_MAX_LINES = 3
    products = [product_make(f"p{i}", 100) for i in range(4)]
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for product in products[:3]:
        _add(client, product.pk)
    response = _add(client, products[3].pk)
    assert response.status_code == 400 and "Your cart is full" in response.content.decode()
    assert len(cookie_lines(client) or []) == 3


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "eyJsIjpbWzEsOTldXX0:1tXyz:forged-signature",
        cookie_forge({"n": "x", "l": [[1, 500]]}),  # signed but impossible quantity
        cookie_forge({"n": "x", "l": [[1, -2]]}),
        cookie_forge({"n": "x", "l": [[1, 1], [1, 1]]}),  # the same product twice
        cookie_forge({"n": "x", "l": [["1", 1]]}),
        cookie_forge({"n": "x", "l": [[1, 1]], "email": "someone@example.fr"}),  # anything else inside
        cookie_forge([1, 2, 3]),
        cookie_forge({"n": "x", "l": [[i, 1] for i in range(1, 200)]}),  # too many lines
        "a" * 5000,  # oversized
    ],
)
def test_a_tampered_or_oversized_cookie_is_ignored_and_reset_never_a_500(audit: Product, value: str) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies[cart.COOKIE] = value
    response = client.get("/shop/cart/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your cart could not be read, so it was emptied." in page and "Your cart is empty." in page
    assert response.cookies[cart.COOKIE]["max-age"] == 0  # deleted
    # Adding to it starts a fresh cart.
    client.cookies[cart.COOKIE] = value
    assert _add(client, audit.pk, 1).status_code == 302
    assert cookie_lines(client) == [[audit.pk, 1]]


def test_an_expired_cookie_is_emptied_quietly(audit: Product, monkeypatch) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    _add(client, audit.pk, 1)
    monkeypatch.setattr(cart, "cookie_max_age", lambda: -1)  # every signature is now too old
    page = client.get("/shop/cart/").content.decode()
    assert "Your cart is empty." in page and "could not be read" not in page


def test_a_product_withdrawn_since_leaves_the_cart_with_a_message(audit: Product, guide: Product) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    _add(client, audit.pk, 1)
    _add(client, guide.pk, 2)
    Product.objects.filter(pk=guide.pk).update(active=False)
    response = client.get("/shop/cart/")
    assert "Some items are no longer on sale and left your cart: guide (en)." in response.content.decode()
    assert cookie_lines(client) == [[audit.pk, 1]]


def test_a_customers_cart_is_kept_in_the_database_and_no_cookie_is_set(audit: Product) -> None:
    user = customer_make()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    response = _add(client, audit.pk, 4)
    assert response.status_code == 302 and cart.COOKIE not in response.cookies
    assert cart_lines_saved(subject_id=user.subject_id) == {audit.pk: 4}
    assert "€1,960.00" in client.get("/shop/cart/").content.decode()


def test_signing_in_merges_the_visitors_cart_into_the_saved_one_and_drops_the_cookie(
    audit: Product, guide: Product
) -> None:
    user = customer_make()
    cart_save(subject_id=user.subject_id, lines={audit.pk: 1})
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    _add(client, audit.pk, 2)
    _add(client, guide.pk, 1)
    response = client.post("/accounts/login/", {"login": "lea@example.fr", "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies[cart.COOKIE]["max-age"] == 0
    assert cart_lines_saved(subject_id=user.subject_id) == {audit.pk: 3, guide.pk: 1}


def test_merging_the_same_cookie_twice_adds_nothing(audit: Product) -> None:
    user = customer_make()
    assert cart_merge(subject_id=user.subject_id, lines={audit.pk: 2}, nonce="n1") is True
    assert cart_merge(subject_id=user.subject_id, lines={audit.pk: 2}, nonce="n1") is False
    assert cart_merge(subject_id=user.subject_id, lines={audit.pk: 98}, nonce="n2") is True
    assert cart_lines_saved(subject_id=user.subject_id) == {audit.pk: 99}  # capped, not 100
    assert Cart.objects.count() == 1 and CartLine.objects.count() == 1


def test_without_a_cart_cookie_in_the_policy_visitors_must_sign_in(audit: Product, settings) -> None:
    settings.PACTE_POLICY_FILE = str(POLICIES / "aplusc.toml")  # declares no cart cookie
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = _add(client, audit.pk, 1)
    assert response.status_code == 403 and "Sign in to fill a cart." in response.content.decode()
    assert cart.COOKIE not in response.cookies
    assert "Sign in to buy" in client.get("/shop/audit/").content.decode()
    user = customer_make()
    client.force_login(user)
    assert _add(client, audit.pk, 1).status_code == 302  # a customer's cart is in the database
    assert cart_lines_saved(subject_id=user.subject_id) == {audit.pk: 1}
