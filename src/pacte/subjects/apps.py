from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubjectsConfig(AppConfig):
    name = "pacte.subjects"
    label = "subjects"
    verbose_name = _("Subjects")

    def ready(self) -> None:
        # Imported here, not at the top: Django loads apps before their models (AppConfig.ready's rule).
        from pacte.subjects import checks  # noqa: F401  (registers pacte.E030)
