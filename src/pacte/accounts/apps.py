from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "pacte.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from pacte.accounts import receivers

        receivers.connect()
