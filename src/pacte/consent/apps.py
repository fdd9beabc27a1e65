from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsentConfig(AppConfig):
    name = "pacte.consent"
    label = "consent"
    verbose_name = _("Consent")

    def ready(self) -> None:
        # Here, not at the top: apps load before models (ConsentState is registered with the subjects).
        from pacte.consent.models import ConsentState
        from pacte.policy.registry import measure_register
        from pacte.subjects.registry import register

        # The ledger keeps the proof of every change; the projection goes with the person.
        register(ConsentState, kind="consents_current", label=_("Your consent choices"))
        measure_register(
            "consent.proof",
            fr="Chaque consentement donné ou retiré est prouvé dans le registre de preuves, avec la version de la politique en vigueur",
            en="Every consent given or withdrawn is proved in the ledger, with the policy version in force",
        )
