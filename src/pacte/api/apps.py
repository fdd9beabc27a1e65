from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "pacte.api"
    label = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        # Here, not at the top: apps load before models (ConsentEvidence is registered with the subjects).
        from pacte.api.models import ConsentEvidence
        from pacte.subjects.registry import register

        register(ConsentEvidence, kind="consent_evidence", label=_("Evidence recorded with your consents"))
