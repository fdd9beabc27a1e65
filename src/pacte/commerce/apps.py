from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "pacte.commerce"
    label = "commerce"
    verbose_name = _("Shop")

    def ready(self) -> None:
        # reason: models and services can only be imported once every app is loaded.
        from pacte.commerce import receivers, services
        from pacte.commerce.models import Cart
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
