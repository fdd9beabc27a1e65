from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RightsConfig(AppConfig):
    name = "pacte.rights"
    label = "rights"
    verbose_name = _("Data-subject rights")

    def ready(self) -> None:
        # reason: models, services and tasks can only be imported once every app is loaded.
        from pacte.core.schedule import register as schedule
        from pacte.policy.registry import measure_register
        from pacte.rights import services, tasks
        from pacte.rights.models import RightsRequest
        from pacte.subjects.registry import register

        # Kept as proof that the request was answered; its details become unreadable with the keys.
        register(
            RightsRequest,
            eraser=services.rights_request_erase,
            kind="rights_requests",
            label=_("Your requests about your data"),
        )
        schedule(tasks.exports_purge_task, every=timedelta(hours=1))
        schedule(tasks.exports_reclaim_task, every=timedelta(minutes=5))
        measure_register(
            "rights.erasure",
            fr="Chaque étape d’une demande d’exercice des droits est consignée dans le registre de preuves ; l’effacement rend illisible chaque copie des données, sauvegardes comprises",
            en="Each step of a rights request is recorded in the ledger; erasure makes every copy of the data unreadable, backups included",
        )
