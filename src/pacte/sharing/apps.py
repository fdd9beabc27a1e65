from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "pacte.sharing"
    label = "sharing"
    verbose_name = _("Sharing with third parties")

    def ready(self) -> None:
        # reason: checks and tasks import models, which can only be imported once every app is loaded.
        from pacte.core.schedule import register as schedule
        from pacte.policy.registry import measure_register
        from pacte.sharing import checks, tasks  # noqa: F401 - checks registers pacte.E052

        schedule(tasks.webhook_retry_due, every=timedelta(minutes=1))
        measure_register(
            "sharing.gate",
            fr="Chaque transmission à un destinataire est vérifiée par rapport à la politique (destinataire, finalité, catégories, consentement) puis inscrite au registre de preuves ; les appels sortants ne vont qu’aux hôtes déclarés ; les demandes des autorités exigent l’accord d’une seconde personne",
            en="Every disclosure to a recipient is checked against the policy (recipient, purpose, categories, consent) and recorded in the proof ledger; outbound calls reach declared hosts only; requests from authorities need a second person's approval",
        )
