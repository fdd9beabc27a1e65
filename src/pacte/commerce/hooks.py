"""Where the customer pays an order: a page another app (billing) provides and registers here.

Commerce does not import billing (billing sits above it). Billing registers, in its ``AppConfig.ready()``,
a function giving the address of the pay page of an order pending payment::

    pay_page_register(lambda order: f"/shop/orders/{order.pk}/pay/")

The checkout then sends the customer there, and the order's page links to it while the order waits
for payment. Without one (billing not installed), the order page is where the checkout ends.

Renewals likewise: billing registers ``renewal_charger_register(fn)``; each order of a new subscription
period is handed to ``fn(order_id)`` once the transaction that created it commits (billing charges the
saved card). Without one, renewal orders wait for the customer to pay them by hand.
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


_renewal_charger: list[Callable[[Any], Any]] = []


def renewal_charger_register(charge: Callable[[Any], Any]) -> None:
    """Make ``charge(order_id)`` what happens to each renewal order (the last registration wins)."""
    _renewal_charger[:] = [charge]


def renewal_order_created(order_id: Any) -> None:
    """Hand a renewal order to the registered charger, if any (called on commit)."""
    if _renewal_charger:
        _renewal_charger[0](order_id)
