"""Commerce settings, read lazily (Django settings, ``PACTE_COMMERCE_`` prefix)."""

from __future__ import annotations

from django.conf import settings


def order_purposes() -> tuple[str, ...]:
    """The policy purposes that may cover orders, in order of preference (the first the policy declares
    is used): PluSuite declares ``order_processing``; A PLUS C, billed through a partner, only ``billing``."""
    return tuple(getattr(settings, "PACTE_COMMERCE_ORDER_PURPOSES", ("order_processing", "billing")))


def invoice_retention() -> str:
    """The retention class (legal hold) of what an order keeps for the law after erasure."""
    return str(getattr(settings, "PACTE_COMMERCE_INVOICE_RETENTION", "invoices"))


def cart_max_lines() -> int:
    """How many different products a cart holds at most (the cookie stays far below 4 KB)."""
    return int(getattr(settings, "PACTE_COMMERCE_CART_MAX_LINES", 30))


def checkout_max_age() -> int:
    """How long, in seconds, a checkout form may wait before it must be shown again."""
    return int(getattr(settings, "PACTE_COMMERCE_CHECKOUT_MAX_AGE", 2 * 3600))
