from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PolicyConfig(AppConfig):
    name = "pacte.policy"
    label = "policy"
    verbose_name = _("Privacy policy")

    def ready(self) -> None:
        # Here, not at the top: importing checks registers the system checks once the apps are loaded.
        from pacte.policy import checks  # noqa: F401  (registers the system checks)
