from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RightsConfig(AppConfig):
    name = "pacte.rights"
    label = "rights"
    verbose_name = _("Data-subject rights")

    def ready(self) -> None:
        from pacte.core.schedule import register as schedule
        from pacte.rights import (
            checks,  # noqa: F401 - registers the system check
            services,
            tasks,
        )
        from pacte.rights.models import RightsRequest
        from pacte.rights.registry import register

        # Kept as proof that the request was answered; its details become unreadable with the keys.
        register(RightsRequest, eraser=services.rights_request_erase, kind="rights_requests")
        schedule(tasks.exports_purge_task, every=timedelta(hours=1))
        schedule(tasks.exports_reclaim_task, every=timedelta(minutes=5))
