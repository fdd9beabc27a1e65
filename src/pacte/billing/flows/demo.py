"""The shop's demo data (``pacte demo seed``): orders paid through the sandbox, saved items, testimonials.

Called by the demo command after it created the demo customers and the catalogue. Each of the first
customers buys something through the checkout's own service (``order_place``) and pays it on the sandbox
gateway with its test Visa card (``order_pay``: the same path as the pay page), so that the webhook makes
the order paid and issues its invoice; nothing is marked paid by hand. The sandbox's notification is
delivered by the task worker (at once under the immediate backend; the command runs the queued tasks
when the worker is a database one). The demo pays only through the sandbox: when the operator set a
real gateway, the orders stay pending payment.

Two customers write a testimonial, published by the demo: the first signed (the box is their consent
to ``testimonials``), the second anonymous. Some items are saved for later (``site_improvement``).
Features the policy lacks (no testimonials, no items of interest) are skipped, not forced. Seeding twice
adds nothing: a customer who already has orders is left as they are.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from pacte.billing.flows.orders import TypedCard, customer_country, order_pay
from pacte.billing.gateways import gateway_choose
from pacte.commerce import interests, selectors, services, testimonials
from pacte.core.errors import PacteError

# What each demo buyer orders, in turn (product slug -> quantity): products of commerce's demo catalogue.
DEMO_BASKETS: tuple[dict[str, int], ...] = (
    {"site-audit": 1},
    {"plan-essential": 1},
    {"setup": 1, "site-audit": 1},
)
DEMO_SAVED: tuple[str, ...] = ("plan-essential", "setup")
DEMO_TESTIMONIALS = {
    "fr": (
        "Mise en route rapide, et l’équipe répond vite.",
        "Des factures claires, aucune surprise.",
    ),
    "en": ("Setup was quick and the team answers fast.", "Clear invoices, no surprise."),
}
SANDBOX_VISA = "4242424242424242"  # the sandbox's test card: paid


@dataclass
class ShopDemo:
    """What the shop's demo seeding did."""

    orders: list[Any] = field(default_factory=list)
    paid_through_sandbox: int = 0
    saved_items: int = 0
    testimonials: int = 0
    skipped: list[str] = field(default_factory=list)


def _basket_order(customer: Any, basket: dict[str, int], lang: str) -> Any | None:
    lines = {}
    for slug, quantity in basket.items():
        product = selectors.product_get(slug=slug)
        if product is None:
            return None
        lines[product.pk] = quantity
    services.cart_save(subject_id=customer.subject_id, lines=lines)
    view = selectors.cart_view(lines=lines, lang=lang)
    order, _created = services.order_place(
        customer=customer,
        token=services.checkout_token_issue(subject_id=customer.subject_id),
        quote=services.quote_digest(view),
        lang=lang,
    )
    return order


def shop_demo_seed(*, customers: list[Any], buyers: int = 3) -> ShopDemo:
    """Give the first ``buyers`` of ``customers`` a paid order, saved items and (two of them) a testimonial."""
    done = ShopDemo()
    expiry_year = datetime.date.today().year + 3
    for index, customer in enumerate(customers[:buyers]):
        if selectors.order_list(subject_id=customer.subject_id).exists():
            continue  # seeded before
        lang = customer.language if getattr(customer, "language", "") in ("fr", "en") else "fr"
        order = _basket_order(customer, DEMO_BASKETS[index % len(DEMO_BASKETS)], lang)
        if order is None:
            done.skipped.append("catalogue")
            continue
        done.orders.append(order)
        if gateway_choose(customer_country(subject_id=customer.subject_id)).gateway == "sandbox":
            order_pay(
                order=order,
                actor="system",
                card=TypedCard(number=SANDBOX_VISA, exp_month=12, exp_year=expiry_year, cvc="123"),
            )
            done.paid_through_sandbox += 1
        else:
            done.skipped.append("payment")
        if interests.interest_purpose() is not None:
            for slug in DEMO_SAVED[: 2 - index % 2]:
                product = selectors.product_get(slug=slug)
                if product is not None and interests.interest_record(
                    subject_id=customer.subject_id, product=product, kind="saved"
                ):
                    done.saved_items += 1
        if index < 2 and testimonials.testimonials_enabled():
            try:
                row = testimonials.testimonial_write(
                    customer=customer,
                    text=DEMO_TESTIMONIALS[lang][index],
                    signed=index == 0,  # the first signs (consents to be named), the second does not
                    name="",
                    lang=lang,
                )
            except PacteError:
                done.skipped.append("testimonial")
            else:
                testimonials.testimonial_publish(testimonial=row)
                done.testimonials += 1
    return done
