from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VaultConfig(AppConfig):
    name = "pacte.vault"
    label = "vault"
    verbose_name = _("Vault")

    def ready(self) -> None:
        # Here, not at the top: apps load before models (crypto and keyring use the key-store models);
        # importing checks registers the system checks.
        from django_tasks.signals import task_finished, task_started

        from pacte.core import ports
        from pacte.policy.registry import measure_register
        from pacte.vault import checks  # noqa: F401  (registers the system checks)
        from pacte.vault.crypto import task_scope_begin, task_scope_end
        from pacte.vault.keyring import system_secret

        # The ledger's signing seed is a secret of the key store, asked for through this port.
        ports.system_secret.plug(system_secret)

        # Each task gets its own data-key cache, dropped when it ends (a third-party signal: the worker's).
        task_started.connect(task_scope_begin, dispatch_uid="pacte.vault.task_scope_begin")
        task_finished.connect(task_scope_end, dispatch_uid="pacte.vault.task_scope_end")
        measure_register(
            "vault.encryption",
            fr="Champs personnels chiffrés au repos (AES-256-GCM), une clé par personne et par durée de conservation, protégée par une clé maîtresse et gardée dans une base séparée ; l’effacement détruit les clés",
            en="Personal fields encrypted at rest (AES-256-GCM) with one key per person and retention class, wrapped by a master key and kept in a separate database; erasure destroys the keys",
        )
