from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "pacte.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Here, not at the top: apps load before models (the registered models and allauth's UserSession).
        from allauth.usersessions.models import UserSession

        from pacte.accounts import receivers, services
        from pacte.accounts.models import EmailIdentity, Organisation, User
        from pacte.policy.registry import measure_register
        from pacte.subjects.registry import register

        receivers.connect()
        register(
            User,
            exporter=services.user_export,
            eraser=services.user_erase,
            kind="account",
            fields=services.USER_EXPORT_FIELDS,
            label=_("Your account"),
        )
        register(EmailIdentity, kind="email_addresses", label=_("E-mail addresses"))
        register(Organisation, kind="organisations", label=_("Employers you represent"))
        register(
            UserSession,
            exporter=services.user_sessions_export,
            eraser=lambda subject: 0,
            kind="sessions",
            fields=services.SESSION_EXPORT_FIELDS,
            label=_("Signed-in sessions"),
        )
        measure_register(
            "accounts.sign_in",
            fr="Second facteur obligatoire pour le personnel ; mots de passe hachés avec Argon2id ; tentatives de connexion limitées ; tables de connexion ne contenant qu’un pseudonyme de l’adresse e-mail ; adresses IP des sessions réduites à leur réseau",
            en="Second factor required for staff; passwords hashed with Argon2id; sign-in attempts rate-limited; sign-in tables hold only a pseudonym of the e-mail address; session IP addresses cut to their network",
        )
