from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubjectsConfig(AppConfig):
    name = "pacte.subjects"
    label = "subjects"
    verbose_name = _("Subjects")

    def ready(self) -> None:
        # Here, not at the top: importing checks registers pacte.E030 once the apps are loaded.
        from pacte.subjects import checks  # noqa: F401  (registers pacte.E030)
