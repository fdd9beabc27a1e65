from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "pacte.billing"
    label = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # reason: models and services can only be imported once every app is loaded.
        from pacte.billing import wiring

        wiring.connect()
