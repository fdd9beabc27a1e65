from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VaultConfig(AppConfig):
    name = "pacte.vault"
    label = "vault"
    verbose_name = _("Vault")

    def ready(self) -> None:
        from pacte.vault import checks  # noqa: F401  (registers the system checks)
