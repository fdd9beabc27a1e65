"""Where the customer pays an order: a page another app (billing) provides and registers here.

Commerce does not import billing (billing sits above it). Billing registers, in its ``AppConfig.ready()``,
a function giving the address of the pay page of an order pending payment::

    pay_page_register(lambda order: f"/shop/orders/{order.pk}/pay/")

The checkout then sends the customer there, and the order's page links to it while the order waits
for payment. Without one (billing not installed), the order page is where the checkout ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_pay_page: list[Callable[[Any], str]] = []


def pay_page_register(page: Callable[[Any], str]) -> None:
    """Make ``page(order)`` the address where the customer pays ``order`` (the last registration wins)."""
    _pay_page[:] = [page]


def pay_page(order: Any) -> str | None:
    """Return the address where ``order`` is paid, or None when no app takes payments."""
    return _pay_page[0](order) if _pay_page else None
