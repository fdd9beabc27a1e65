"""allauth.usersessions with Pacte's sign-in receiver (its own module: an apps module with two AppConfig
classes would leave Django unable to pick pacte.accounts' own)."""

from __future__ import annotations

from allauth.usersessions.apps import UserSessionsConfig as AllauthUserSessionsConfig


class UserSessionsConfig(AllauthUserSessionsConfig):
    """allauth's session tracking, with Pacte's sign-in receiver in place of allauth's (settings.INSTALLED_APPS).

    Same app (name and label ``usersessions``), same models and password receivers; at sign-in
    ``receivers.user_logged_in`` forgets ended sessions in one statement instead of opening each one.
    """

    def ready(self) -> None:
        from allauth.account.signals import password_changed, password_set
        from allauth.account.signals import user_logged_in as allauth_user_logged_in
        from allauth.usersessions import signals

        from pacte.accounts import receivers

        allauth_user_logged_in.connect(receivers.user_logged_in, dispatch_uid="pacte.accounts.user_logged_in")
        for signal in (password_set, password_changed):
            signal.connect(receiver=signals.on_password_changed)
