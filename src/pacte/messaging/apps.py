from datetime import timedelta

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "pacte.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        # reason: models, services and tasks can only be imported once every app is loaded.
        from pacte.core.schedule import register as schedule
        from pacte.messaging import checks, services, tasks  # noqa: F401 - checks registers pacte.E040
        from pacte.messaging.models import OutboxMessage, Subscriber
        from pacte.policy.registry import measure_register
        from pacte.subjects.registry import register

        schedule(tasks.outbox_retry_due, every=timedelta(minutes=1))
        schedule(tasks.subscribers_purge, every=timedelta(days=1))
        schedule(tasks.mail_spool_purge, every=timedelta(hours=1))
        register(
            OutboxMessage, eraser=services.messages_erase, kind="messages", label=_("E-mails we sent you")
        )
        register(Subscriber, kind="subscriptions", label=_("Newsletter subscriptions"))
        measure_register(
            "messaging.consent_gate",
            fr="Un e-mail commercial n’est envoyé que si le consentement vaut encore au moment de l’envoi, avec un lien de désinscription en un clic",
            en="Marketing e-mail is sent only if consent still holds at sending time, with a one-click unsubscribe link",
        )
