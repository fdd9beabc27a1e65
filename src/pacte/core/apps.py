from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "pacte.core"
    label = "core"
    verbose_name = _("Pacte core")

    def ready(self) -> None:
        # Here, not at the top: importing checks registers the system checks once the apps are loaded.
        from pacte.core import checks  # noqa: F401  (registers the system checks)
