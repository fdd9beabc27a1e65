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


def contact_purposes() -> tuple[str, ...]:
    """The policy purposes that may cover the contact form, in order of preference (the first the policy
    declares is used). PluSuite declares ``customer_support``; A PLUS C declares none: no contact form."""
    return tuple(getattr(settings, "PACTE_COMMERCE_CONTACT_PURPOSES", ("customer_support",)))


def contact_limit_per_client() -> int:
    """Contact-form messages one client address may send per hour (PACTE_COMMERCE_CONTACT_LIMIT_PER_CLIENT)."""
    return int(getattr(settings, "PACTE_COMMERCE_CONTACT_LIMIT_PER_CLIENT", 5))


def contact_max_length() -> int:
    """The longest contact-form message accepted, in characters."""
    return int(getattr(settings, "PACTE_COMMERCE_CONTACT_MAX_LENGTH", 5000))


def interest_purposes() -> tuple[str, ...]:
    """The legitimate-interest purposes that may cover items of interest (the first declared whose
    categories include ``commerce.interests``). PluSuite: ``site_improvement``; A PLUS C: none."""
    return tuple(getattr(settings, "PACTE_COMMERCE_INTEREST_PURPOSES", ("site_improvement",)))


def interest_max_per_customer() -> int:
    """How many items of interest a customer keeps at most (the oldest viewed go first)."""
    return int(getattr(settings, "PACTE_COMMERCE_INTEREST_MAX", 100))


def popular_min_count() -> int:
    """Below this many customers, a product's count is not shown to staff (small counts identify)."""
    return int(getattr(settings, "PACTE_COMMERCE_POPULAR_MIN_COUNT", 5))


def testimonial_max_length() -> int:
    """The longest testimonial accepted, in characters."""
    return int(getattr(settings, "PACTE_COMMERCE_TESTIMONIAL_MAX_LENGTH", 2000))
