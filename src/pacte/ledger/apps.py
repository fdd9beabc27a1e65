from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "pacte.ledger"
    label = "ledger"
    verbose_name = _("Ledger")

    def ready(self) -> None:
        from pacte.core import schedule
        from pacte.ledger import app_settings
        from pacte.ledger.tasks import ledger_sign_if_due

        schedule.register(ledger_sign_if_due, every=timedelta(seconds=app_settings.sth_every_seconds()))
