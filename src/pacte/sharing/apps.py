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
        from pacte.sharing import checks, tasks  # noqa: F401 - checks registers pacte.E052

        schedule(tasks.webhook_retry_due, every=timedelta(minutes=1))
