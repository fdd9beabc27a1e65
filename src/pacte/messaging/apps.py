from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "pacte.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from pacte.core.schedule import register as schedule
        from pacte.messaging import checks, tasks  # noqa: F401 - checks registers pacte.E040
        from pacte.messaging.models import OutboxMessage, Subscriber
        from pacte.rights.registry import register

        schedule(tasks.outbox_retry_due, every=timedelta(minutes=1))
        schedule(tasks.subscribers_purge, every=timedelta(days=1))
        register(OutboxMessage, kind="messages")
        register(Subscriber, kind="subscriptions")
