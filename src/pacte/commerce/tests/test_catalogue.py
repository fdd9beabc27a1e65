"""The catalogue: staff's products and plans, shown in French and English, on-sale ones only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from pacte.commerce.models import Product
from pacte.commerce.pricing import euros, line_amounts
from pacte.commerce.services import DEMO_CATALOGUE, catalogue_demo_seed, product_save

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)


def _product(**fields) -> Product:
    values = {
        "slug": "audit",
        "name_fr": "Audit de site",
        "name_en": "Site audit",
        "description_fr": "Un audit complet.",
        "description_en": "A full audit.",
        "price_cents": 49000,
        "vat_rate": Decimal("20.0"),
    }
    values.update(fields)
    return product_save(product=Product(**values))


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Shop", "Site audit", "A full audit.", "€490.00", "excl. VAT", "VAT 20%"]),
        ("fr", ["Boutique", "Audit de site", "Un audit complet.", "490,00\u00a0€", "HT", "TVA 20\u00a0%"]),
    ],
)
def test_the_catalogue_shows_products_in_the_visitors_language(lang: str, words: list[str]) -> None:
    _product()
    _product(slug="old", name_fr="Ancien", name_en="Withdrawn", active=False)
    page = Client(HTTP_ACCEPT_LANGUAGE=lang).get("/shop/")
    assert page.status_code == 200
    text = page.content.decode()
    for word in words:
        assert word in text, word
    assert "Withdrawn" not in text and "Ancien" not in text


def test_a_product_page_and_a_plans_period() -> None:
    _product(slug="pro", kind="plan", period="year", name_en="Pro plan", price_cents=39000)
    text = Client(HTTP_ACCEPT_LANGUAGE="en").get("/shop/pro/").content.decode()
    assert "<h1>Pro plan</h1>" in text and "per year" in text and "Subscription plan" in text


def test_unknown_and_withdrawn_products_are_not_found() -> None:
    _product(slug="old", active=False)
    client = Client()
    assert client.get("/shop/old/").status_code == 404
    assert client.get("/shop/nothing-here/").status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"vat_rate": Decimal("19.6")}, "vat_rate"),  # not a French rate (any more)
        ({"kind": "plan", "period": ""}, "period"),  # a plan without a period
        ({"kind": "product", "period": "month"}, "period"),  # a period on a one-off product
        ({"slug": "cart"}, "slug"),  # the cart page's address
        ({"price_cents": -1}, "price_cents"),
        ({"price_cents": 100_000_001}, "price_cents"),
    ],
)
def test_staff_cannot_save_an_impossible_product(fields: dict, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        _product(**fields)
    assert field in refused.value.message_dict
    assert not Product.objects.exists()


def test_vat_is_computed_in_cents_and_rounded_half_up() -> None:
    assert line_amounts(unit_cents=1200, quantity=3, vat_rate=Decimal("5.5")) == line_amounts(
        unit_cents=3600, quantity=1, vat_rate=Decimal("5.5")
    )
    amounts = line_amounts(unit_cents=1200, quantity=3, vat_rate=Decimal("5.5"))
    assert (amounts.net_cents, amounts.vat_cents, amounts.gross_cents) == (3600, 198, 3798)
    # 0.5 cent rounds up: 25 × 2.1 % = 0.525 → 1 cent; 2.5 × 20 % = … exact values only
    assert line_amounts(unit_cents=25, quantity=1, vat_rate=Decimal("2.1")).vat_cents == 1
    assert line_amounts(unit_cents=1, quantity=1, vat_rate=Decimal("10.0")).vat_cents == 0
    assert euros(123450, "fr") == "1\u202f234,50\u00a0€" and euros(123450, "en") == "€1,234.50"


def test_the_demo_seed_adds_services_and_two_plans_once() -> None:
    assert catalogue_demo_seed() == len(DEMO_CATALOGUE)
    assert catalogue_demo_seed() == 0
    assert Product.objects.filter(kind="plan").count() == 2
    assert Product.objects.filter(kind="product").count() == len(DEMO_CATALOGUE) - 2
    assert Client().get("/shop/plan-essential/").status_code == 200
