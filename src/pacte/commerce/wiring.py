"""What the shop registers once every app is loaded: its receivers, periodic tasks and the export and
erasure of its models (apps.ready calls ``connect``; here, not in apps.py, so that these imports stand at
the top of a module)."""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext_lazy as _

from pacte.commerce import contact, interests, receivers, services, subscriptions, testimonials
from pacte.commerce.models import (
    Cart,
    ContactMessage,
    Interest,
    InterestObjection,
    Order,
    OrderContact,
    Subscription,
    Testimonial,
)
from pacte.commerce.tasks import contact_purge, subscriptions_renew
from pacte.core import schedule
from pacte.subjects.registry import register


def connect() -> None:
    receivers.connect()
    schedule.register(subscriptions_renew, every=timedelta(hours=1))
    schedule.register(contact_purge, every=timedelta(days=1))
    register(
        Testimonial,
        exporter=testimonials.testimonial_export,
        eraser=testimonials.testimonial_erase,
        kind="testimonials",
        fields=testimonials.TESTIMONIAL_EXPORT_FIELDS,
        label=_("Your testimonials"),
    )
    register(
        ContactMessage,
        exporter=contact.contact_export,
        eraser=contact.contact_erase,
        kind="contact_messages",
        fields=contact.CONTACT_EXPORT_FIELDS,
        label=_("Your messages through the contact form"),
    )
    register(
        Interest,
        exporter=interests.interest_export,
        eraser=interests.interest_erase,
        kind="interests",
        fields=interests.INTEREST_EXPORT_FIELDS,
        label=_("Items that interested you"),
    )
    register(
        InterestObjection,
        eraser=lambda subject: 0,  # interest_erase deletes it with the items
        kind="interest_objection",
        label=_("Your objection to the recording of items of interest"),
    )
    register(
        Subscription,
        exporter=subscriptions.subscription_export,
        eraser=subscriptions.subscription_erase,
        kind="plan_subscriptions",  # "subscriptions" is messaging's newsletter kind
        fields=subscriptions.SUBSCRIPTION_EXPORT_FIELDS,
        label=_("Your subscriptions"),
    )
    register(
        Cart,
        exporter=services.cart_export,
        eraser=services.cart_erase,
        kind="cart",
        fields=services.CART_EXPORT_FIELDS,
        label=_("Your saved cart"),
    )
    # Invoiced orders are kept under the legal hold (their buyer fields under the ``invoices`` key);
    # orders never paid and staff's notes go (services.order_erase says exactly what stays).
    register(
        Order,
        exporter=services.order_export,
        eraser=services.order_erase,
        kind="orders",
        fields=services.ORDER_EXPORT_FIELDS,
        label=_("Your orders"),
    )
    register(
        OrderContact,
        exporter=services.order_contact_export,
        eraser=lambda subject: 0,  # order_erase deletes them (before the orders they belong to)
        kind="order_contacts",
        fields=services.ORDER_CONTACT_EXPORT_FIELDS,
        label=_("Our contacts with you about your orders"),
    )
