from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "pacte.commerce"
    label = "commerce"
    verbose_name = _("Shop")

    def ready(self) -> None:
        # reason: models and services can only be imported once every app is loaded.
        from pacte.commerce import wiring

        wiring.connect()
