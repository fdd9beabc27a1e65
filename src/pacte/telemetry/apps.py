from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelemetryConfig(AppConfig):
    name = "pacte.telemetry"
    label = "telemetry"
    verbose_name = _("Visit statistics and diagnostics")

    def ready(self) -> None:
        # reason: checks and tasks import models, which exist only once every app is loaded.
        from django.core.signals import request_finished

        from pacte.core.schedule import register as schedule
        from pacte.policy.registry import measure_register
        from pacte.subjects.registry import register
        from pacte.telemetry import buffer, checks, tasks  # noqa: F401 - checks registers telemetry.E001, E002
        from pacte.telemetry.models import Diagnostic

        # After a response is sent (its close()), write the buffered hits if a batch is due.
        request_finished.connect(buffer.flush_when_due, dispatch_uid="pacte.telemetry.flush")

        schedule(tasks.telemetry_rollup, every=timedelta(hours=1))
        schedule(tasks.telemetry_purge, every=timedelta(hours=1))
        # Diagnostics hold IP addresses but no link to any person (GDPR Art. 11): nothing can be found for a
        # subject, so nothing is exported or erased for one; purge_diagnostics deletes them at retention end.
        register(
            Diagnostic,
            exporter=lambda subject: [],
            eraser=lambda subject: 0,
            fields=(),
            kind="diagnostics",
            label=_("Diagnostics log (never linked to you)"),
        )
        measure_register(
            "telemetry.unlinkable",
            fr="Les statistiques de visite ne gardent ni identifiant de compte, ni session, ni cookie, ni adresse IP complète ; la clé de visiteur change chaque jour et son sel est détruit après 48 heures",
            en="Visit statistics keep no account id, session, cookie or full IP address; the visitor key changes every day and its salt is destroyed after 48 hours",
        )
