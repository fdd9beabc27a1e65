from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "pacte.commerce"
    label = "commerce"
    verbose_name = _("Shop")

    def ready(self) -> None:
        # reason: models and services can only be imported once every app is loaded.
        from pacte.commerce import receivers, services
        from pacte.commerce.models import Cart, Order, OrderContact
        from pacte.subjects.registry import register

        receivers.connect()
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
