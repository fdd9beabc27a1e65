from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "pacte.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from allauth.usersessions.models import UserSession

        from pacte.accounts import receivers, services
        from pacte.accounts.models import EmailIdentity, Organisation, User
        from pacte.rights.registry import register

        receivers.connect()
        register(User, exporter=services.user_export, eraser=services.user_erase, kind="account")
        register(EmailIdentity, kind="email_addresses")
        register(Organisation, kind="organisations")
        register(
            UserSession, exporter=services.user_sessions_export, eraser=lambda subject: 0, kind="sessions"
        )
