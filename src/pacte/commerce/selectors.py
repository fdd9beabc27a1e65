"""Reads of commerce: the catalogue, carts, orders."""

from __future__ import annotations

from django.db.models import QuerySet

from pacte.commerce.models import Product


def product_list() -> QuerySet[Product]:
    """Return the products on sale, in catalogue order."""
    return Product.objects.filter(active=True)


def product_get(*, slug: str) -> Product | None:
    """Return the product on sale at ``slug``, or None (unknown or withdrawn from sale)."""
    return Product.objects.filter(slug=slug, active=True).first()
