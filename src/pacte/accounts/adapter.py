"""The allauth adapter: real addresses in, pseudonym addresses in allauth's tables, real addresses out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils import translation

from pacte.accounts import app_settings, selectors, services
from pacte.accounts.flows.signup import signup
from pacte.accounts.models import User
from pacte.messaging.services import message_queue, message_queue_ephemeral
from pacte.policy.selectors import policy_active
from pacte.vault.crypto import is_system_sealed, open_system, seal_system

STASH = "_pacte_real_emails"
# Context keys through which allauth hands an address to a mail or a message template.
EMAIL_KEYS = ("email", "from_email", "to_email", "deleted_email")
# The key-store secret that seals MFA secrets, and what each sealed value is bound to.
MFA_SECRET = "mfa-secrets"  # noqa: S105 - the name of a secret, not one
MFA_CONTEXT = b"pacte-mfa"


def real_address(value: Any) -> Any:
    """Return the real address behind a pseudonym address (anything else unchanged)."""
    if isinstance(value, str) and value.endswith("@" + services.PSEUDONYM_DOMAIN):
        return selectors.email_real(pseudonym=value) or _stash().get(value) or ""
    return value


def _stash() -> dict[str, str]:
    request = allauth_context.request
    if request is None:
        return {}
    if not hasattr(request, STASH):
        setattr(request, STASH, {})
    return getattr(request, STASH)


@dataclass(frozen=True)
class MailSite:
    """What allauth's mail templates call ``current_site``: the operator's name and the public domain."""

    name: str
    domain: str
    url: str

    def __str__(self) -> str:
        return self.name


def mail_site() -> MailSite:
    """Return the site a mail speaks for: ``operator.name`` of the policy, the host of PACTE_BASE_URL."""
    url = app_settings.base_url()
    return MailSite(name=policy_active().operator.name, domain=urlsplit(url).netloc, url=url)


def user_display_name(user: Any) -> str:
    """Name a person by the name they gave, or not at all (never ``user:<uuid>``, never an address).

    allauth's ``{% user_display %}`` calls this when settings.ACCOUNT_USER_DISPLAY points here; Pacte's
    own templates use ``{% person_name %}`` (templatetags/pacte_accounts.py), which calls it too.
    """
    if isinstance(user, User) and user.name:
        return str(user.name)
    return ""


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email: str) -> str:
        """Validate the real address, remember it for this request, hand allauth its pseudonym."""
        email = super().clean_email(email.strip())
        pseudonym = services.email_pseudonym(email)
        _stash()[pseudonym] = email
        return pseudonym

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> User:
        """Sign the person up through the sign-up flow (the account, its acceptances, the ticked consents)."""
        data = form.cleaned_data
        return signup(
            email=form.real_email,
            password=data.get("password1"),
            name=data["name"],
            birth_date=data.get("birth_date"),
            kind=data["account_kind"],
            phone=data.get("phone", ""),
            postal_address=form.postal_address(),
            organisation=form.organisation(),
            language=translation.get_language() or "",
            consents=form.consents_granted(),
        )

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Send to the real address behind ``email``; never to a pseudonym, never to a stopped account.

        The mail is written in the holder's language (``User.language``; the page's for an address Pacte
        does not know), names the operator of the policy and greets the person by name, or not at all.
        """
        real = email
        if email.endswith("@" + services.PSEUDONYM_DOMAIN):
            real = selectors.email_real(pseudonym=email) or _stash().get(email) or ""
            user = context.get("user")
            if real and isinstance(user, User) and selectors.email_real(pseudonym=email) is None:
                services.email_identity_ensure(subject=user.subject, email=real)
        if not real:
            return  # erased or unknown: there is nobody to write to
        user = context.get("user")
        if (
            isinstance(user, User)
            and user.mail_stopped
            and not template_prefix.startswith("account/email/password")
        ):
            return
        holder = user if isinstance(user, User) else User.objects.filter(email=email).first()
        shown = {
            "current_site": mail_site(),
            "person_name": user_display_name(holder),
            **{key: real_address(value) if key in EMAIL_KEYS else value for key, value in context.items()},
        }
        language = holder.language if holder is not None else translation.get_language()
        with translation.override(language or settings.LANGUAGE_CODE):
            rendered = self.render_mail(template_prefix, real, shown)
        html = next((body for body, mime in getattr(rendered, "alternatives", []) if mime == "text/html"), "")
        if holder is None:
            # Nobody Pacte knows (e.g. "no account with this address"): queued like any other mail, so the
            # answer takes the same time and a broken relay is never seen, then forgotten once delivered.
            message_queue_ephemeral(
                to=real,
                subject_line=str(rendered.subject),
                body=str(rendered.body),
                html=str(html),
                template=template_prefix,
            )
        else:
            message_queue(
                subject_id=holder.subject_id,
                to=real,
                subject_line=str(rendered.subject),
                body=str(rendered.body),
                html=str(html),
                template=template_prefix,
            )
        if template_prefix == "account/email/email_changed":
            # The old address has been told; Pacte has no reason to keep it any longer.
            services.email_identity_forget(pseudonym=str(context.get("from_email", "")))

    def send_notification_mail(
        self,
        template_prefix: str,
        user: Any,
        context: dict[str, Any] | None = None,
        email: str | None = None,
    ) -> None:
        """Hand the account holder to ``send_mail``, so that a notice speaks their language and name."""
        super().send_notification_mail(template_prefix, user, {"user": user, **(context or {})}, email)

    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        """Show the person their real address in allauth's messages, never its pseudonym."""
        if message_context:
            message_context = {
                key: real_address(value) if key in EMAIL_KEYS else value
                for key, value in message_context.items()
            }
        super().add_message(request, level, message_template, message_context, extra_tags, message)

    def user_display(self, user: Any) -> str:
        """Name the person as every mail and message does (see ``user_display_name``)."""
        return user_display_name(user)

    def post_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> Any:
        response = super().post_login(request, user, **kwargs)
        if isinstance(user, User) and user.deactivated_at is not None:
            return redirect("accounts:reactivate")
        return response


class MFAAdapter(DefaultMFAAdapter):
    def _get_user_identifier(self, user: Any) -> str:
        """Label authenticator apps and passkeys with the real address (shown on the device only)."""
        if isinstance(user, User):
            return selectors.user_email(user=user) or str(user.pk)
        return str(super()._get_user_identifier(user))

    def encrypt(self, text: str) -> str:
        """Seal TOTP secrets and recovery-code seeds in the vault (a key-store secret, AES-256-GCM)."""
        return seal_system(text, secret=MFA_SECRET, context=MFA_CONTEXT)

    def decrypt(self, encrypted_text: str) -> str:
        """Open a sealed MFA secret (either vault format); a value stored unsealed is returned as is."""
        if not is_system_sealed(encrypted_text):
            return encrypted_text
        return open_system(encrypted_text, secret=MFA_SECRET, context=MFA_CONTEXT)
