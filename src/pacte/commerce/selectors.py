"""Reads of commerce: the catalogue, carts, orders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet, Sum
from django.utils.translation import gettext as _

from pacte.commerce import app_settings, error_codes
from pacte.commerce.models import CartLine, Order, Product
from pacte.commerce.pricing import line_amounts
from pacte.core.errors import PacteError
from pacte.policy.selectors import policy_active


def product_list() -> QuerySet[Product]:
    """Return the products on sale, in catalogue order."""
    return Product.objects.filter(active=True)


def product_get(*, slug: str) -> Product | None:
    """Return the product on sale at ``slug``, or None (unknown or withdrawn from sale)."""
    return Product.objects.filter(slug=slug, active=True).first()


def product_on_sale(*, product_id: Any) -> Product | None:
    """Return the product on sale with this id (from a form: anything), or None."""
    text = str(product_id or "").strip()
    if not re.fullmatch(r"[0-9]{1,12}", text):
        return None
    return Product.objects.filter(pk=int(text), active=True).first()


def cart_lines_saved(*, subject_id: Any) -> dict[int, int]:
    """Return a customer's saved cart as product id -> quantity (empty when they have none)."""
    rows = CartLine.objects.filter(cart__subject_id=subject_id).values_list("product_id", "quantity")
    return dict(rows)


@dataclass(frozen=True)
class CartRow:
    product: Product
    name: str
    quantity: int
    unit_cents: int
    vat_rate: Decimal
    net_cents: int
    vat_cents: int
    gross_cents: int


@dataclass
class CartView:
    """A cart priced now: its rows, what was dropped (no longer on sale) and the totals."""

    rows: list[CartRow] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # names of withdrawn products ("" when unknown)
    net_cents: int = 0
    vat_cents: int = 0
    gross_cents: int = 0

    @property
    def lines(self) -> dict[int, int]:
        """The lines still on sale (what the cart should now hold)."""
        return {row.product.pk: row.quantity for row in self.rows}

    def quote(self) -> list[list[Any]]:
        """What the customer is shown, as plain values: the checkout compares it with what it charges."""
        return [[row.product.pk, row.quantity, row.unit_cents, str(row.vat_rate)] for row in self.rows]


def cart_view(*, lines: dict[int, int], lang: str) -> CartView:
    """Price ``lines`` at today's catalogue (one query), dropping unknown and withdrawn products."""
    view = CartView()
    if not lines:
        return view
    products = Product.objects.in_bulk(list(lines))
    for product_id, quantity in lines.items():
        product = products.get(product_id)
        if product is None or not product.active:
            view.dropped.append(product.name(lang) if product is not None else "")
            continue
        amounts = line_amounts(unit_cents=product.price_cents, quantity=quantity, vat_rate=product.vat_rate)
        view.rows.append(
            CartRow(
                product=product,
                name=product.name(lang),
                quantity=quantity,
                unit_cents=product.price_cents,
                vat_rate=Decimal(product.vat_rate),
                net_cents=amounts.net_cents,
                vat_cents=amounts.vat_cents,
                gross_cents=amounts.gross_cents,
            )
        )
        view.net_cents += amounts.net_cents
        view.vat_cents += amounts.vat_cents
        view.gross_cents += amounts.gross_cents
    return view


def order_purpose() -> str:
    """Return the policy purpose orders are processed under: the first of ``order_purposes`` declared.

    PluSuite's policy declares ``order_processing``; A PLUS C's, whose services are billed through a
    partner, declares no such purpose: its orders fall under ``billing``.
    """
    purposes = policy_active().purposes
    for purpose in app_settings.order_purposes():
        if purpose in purposes:
            return purpose
    raise PacteError(
        _("The shop is closed: the privacy policy declares no purpose for orders."),
        error_codes.NO_ORDER_PURPOSE,
        status=503,
    )


def order_list(*, subject_id: Any) -> QuerySet[Order]:
    """Return a customer's orders, newest first, each with ``item_count``: one query, no ciphertext read."""
    return (
        Order.objects.filter(subject_id=subject_id)
        .only("id", "reference", "status", "gross_cents", "currency", "created_at")
        .annotate(item_count=Sum("lines__quantity"))
        .order_by("-created_at")
    )


def access_order(*, subject_id: Any, order_id: Any) -> Order:
    """Return the customer's order ``order_id`` with its lines, or refuse (someone else's looks unknown)."""
    order = Order.objects.filter(subject_id=subject_id, pk=order_id).prefetch_related("lines").first()
    if order is None:
        raise PacteError(_("There is no such order in your account."), error_codes.ORDER_UNKNOWN, status=404)
    return order


def order_get(*, order_id: Any) -> Order | None:
    """Return the order ``order_id`` with its lines (for billing, which is paid for it), or None."""
    try:
        return Order.objects.filter(pk=order_id).prefetch_related("lines").first()
    except (ValueError, TypeError, ValidationError):
        return None
