from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsentConfig(AppConfig):
    name = "pacte.consent"
    label = "consent"
    verbose_name = _("Consent")

    def ready(self) -> None:
        from pacte.consent.models import ConsentState
        from pacte.rights.registry import register

        # The ledger keeps the proof of every change; the projection goes with the person.
        register(ConsentState, kind="consents_current")
