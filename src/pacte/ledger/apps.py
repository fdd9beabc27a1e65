from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "pacte.ledger"
    label = "ledger"
    verbose_name = _("Ledger")

    def ready(self) -> None:
        # Here, not at the top: apps load before models (services and tasks use the ledger's models).
        from pacte.core import ports, schedule
        from pacte.ledger import app_settings, services
        from pacte.ledger.tasks import ledger_sign_if_due
        from pacte.policy.registry import measure_register

        # The vault (key destructions) and policy (publications) record facts through this port.
        ports.record_fact.plug(services.entry_append)
        schedule.register(ledger_sign_if_due, every=timedelta(seconds=app_settings.sth_every_seconds()))
        measure_register(
            "ledger.tamper_evident",
            fr="Registre de preuves en ajout seul et infalsifiable (arbre de hachage, têtes d’arbre signées Ed25519), sans donnée personnelle en clair",
            en="Append-only, tamper-evident ledger of proofs (hash tree, Ed25519-signed tree heads), with no plaintext personal data",
        )
