from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VaultConfig(AppConfig):
    name = "pacte.vault"
    label = "vault"
    verbose_name = _("Vault")

    def ready(self) -> None:
        from django_tasks.signals import task_finished, task_started

        from pacte.vault import checks  # noqa: F401  (registers the system checks)
        from pacte.vault.crypto import task_scope_begin, task_scope_end

        # Each task gets its own data-key cache, dropped when it ends (a third-party signal: the worker's).
        task_started.connect(task_scope_begin, dispatch_uid="pacte.vault.task_scope_begin")
        task_finished.connect(task_scope_end, dispatch_uid="pacte.vault.task_scope_end")
