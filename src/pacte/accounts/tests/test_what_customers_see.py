"""What a customer sees of allauth: every mail and message names the site and the person, in their language.

Mails go through the real pipeline (adapter → outbox → worker task → a real SMTP server on loopback).
"""

from __future__ import annotations

import datetime
import re
import types
import uuid

import pytest
from allauth.account.adapter import get_adapter
from allauth.core import context as allauth_context
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone, translation

from pacte.accounts.models import User
from pacte.accounts.selectors import subject_language
from pacte.accounts.services import email_identity_ensure, email_pseudonym, user_create
from pacte.consent.selectors import consent_check
from pacte.consent.services import consent_set
from pacte.ledger.models import Entry
from pacte.messaging.services import campaign_send
from pacte.policy.selectors import policy_active
from pacte.subjects.services import subject_create

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"
NAME = "Camille Martin"
ADDRESS = "camille.martin@example.fr"
NEW_ADDRESS = "camille.nouvelle@example.fr"
UNKNOWN = "personne@example.fr"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def _link(message, path: str) -> str:
    match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]+)", _body(message))
    assert match, _body(message)
    return match.group(1)


# Every mail of allauth that Pacte sends: (template, how it is sent, extra context).
# "mail" goes through send_mail (to the account's pseudonym unless "to" says otherwise), "notice" through
# send_notification_mail as allauth's flows call it.
MAILS = [
    ("account/email/email_confirmation_signup", "mail", {"activate_url": "/accounts/confirm-email/k/"}),
    ("account/email/email_confirmation", "mail", {"activate_url": "/accounts/confirm-email/k/", "to": "new"}),
    ("account/email/password_reset_key", "mail", {"password_reset_url": "/accounts/password/reset/key/x/"}),
    ("account/email/unknown_account", "mail", {"signup_url": "/accounts/signup/", "to": "unknown"}),
    ("account/email/account_already_exists", "mail", {"password_reset_url": "/accounts/password/reset/"}),
    ("account/email/password_changed", "notice", {}),
    ("account/email/password_set", "notice", {}),
    ("account/email/password_reset", "notice", {}),
    ("account/email/email_confirm", "notice", {}),
    ("account/email/email_changed", "notice", {"to_email": "new"}),
    ("account/email/email_deleted", "notice", {"deleted_email": "new"}),
    ("mfa/email/totp_activated", "notice", {}),
    ("mfa/email/totp_deactivated", "notice", {}),
    ("mfa/email/recovery_codes_generated", "notice", {}),
    ("mfa/email/webauthn_added", "notice", {}),
    ("mfa/email/webauthn_removed", "notice", {}),
]


def _send_every_mail(user: User, lang: str) -> None:
    new = email_identity_ensure(subject=user.subject, email=NEW_ADDRESS).pseudonym
    request = RequestFactory(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0").get("/")
    request.user = AnonymousUser()
    with translation.override(lang), allauth_context.request_context(request):
        adapter = get_adapter(request)
        unknown = adapter.clean_email(UNKNOWN)  # remembered for this request, as the reset form does
        for template, how, extra in MAILS:
            context = {k: (new if v == "new" else v) for k, v in extra.items() if k != "to"}
            if how == "notice":
                if template == "account/email/email_changed":
                    context["from_email"] = user.email
                adapter.send_notification_mail(template, user, context)
                continue
            to = {"new": new, "unknown": unknown}.get(extra.get("to", ""), user.email)
            if to != unknown:
                context["user"] = user
            adapter.send_mail(template, to, {"email": to, **context})


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_allauth_mail_names_the_site_and_the_person_in_their_language(lang, smtp_server) -> None:
    operator = policy_active().operator.name
    user = user_create(email=ADDRESS, password=PASSWORD, name=NAME, birth_date=None, language=lang)
    # The page is in the other language: every mail to the account follows the account's language.
    other = "en" if lang == "fr" else "fr"
    _send_every_mail(user, other)
    mails = smtp_server.wait_for(len(MAILS))
    assert len(mails) == len(MAILS)
    for (template, _how, extra), mail in zip(MAILS, mails, strict=True):
        text = f"{mail['Subject']}\n{_body(mail)}"
        assert operator in text, (template, text)
        assert "user:" not in text and "pseudonym.invalid" not in text, (template, text)
        assert "from !" not in text and " on ." not in text and "Hello from" not in text, (template, text)
        if extra.get("to") == "unknown":
            # Nobody Pacte knows: no name, in the page's language.
            assert "Camille" not in text, text
            greeting = {"fr": "Bonjour,", "en": "Hello,"}[other]
        else:
            assert NAME in text, (template, text)
            greeting = {"fr": f"Bonjour {NAME},", "en": f"Hello {NAME},"}[lang]
        assert _body(mail).startswith(greeting), (template, text)
        if greeting.startswith("Bonjour"):
            assert not re.search(r"\b(you|your|the|has been)\b", text, re.I), (template, text)
        else:
            assert not re.search(r"\b(vous|votre|le|été)\b", text, re.I), (template, text)
    by_template = {t: _body(m) for (t, _h, _e), m in zip(MAILS, mails, strict=True)}
    changed = by_template["account/email/email_changed"]
    assert ADDRESS in changed and NEW_ADDRESS in changed  # real addresses, never pseudonyms
    assert by_template["account/email/email_confirmation_signup"].count(operator) >= 2


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", f"Hello {NAME}, you are signed in."),
        ("fr", f"Bonjour {NAME}, vous êtes connecté à votre compte."),
    ],
)
def test_the_sign_in_message_names_the_person(lang, expected) -> None:
    user_create(email=ADDRESS, password=PASSWORD, name=NAME, birth_date=None)
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    response = client.post("/accounts/login/", {"login": ADDRESS, "password": PASSWORD}, follow=True)
    shown = [str(m) for m in get_messages(response.wsgi_request)] or re.findall(
        r'<ul class="messages"><li[^>]*>([^<]*)</li>', response.content.decode()
    )
    assert shown == [expected]


def test_the_sign_in_message_of_a_person_without_a_name_names_nobody() -> None:
    user_create(email=ADDRESS, password=PASSWORD, name="", birth_date=None)
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/accounts/login/", {"login": ADDRESS, "password": PASSWORD}, follow=True
    )
    page = response.content.decode()
    assert "You are signed in." in page and "user:" not in page and "Successfully" not in page


def _signup(lang: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    data = {
        "email": ADDRESS,
        "password1": PASSWORD,
        "account_kind": "individual",
        "name": NAME,
        "birth_date": "1990-04-12",
        "terms": "on",
        "consent_newsletter": "on",
    }
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def test_a_customer_who_signed_up_in_english_gets_every_mail_in_english(smtp_server) -> None:
    _signup("en")
    user = User.objects.get()
    assert user.language == "en"
    (verification,) = smtp_server.wait_for(1)
    assert verification["Subject"] == "PluSuite.com: confirm your e-mail address"
    assert _body(verification).startswith(
        f"Hello {NAME},\n\nThank you for creating an account with PluSuite.com."
    )
    Client(HTTP_ACCEPT_LANGUAGE="en").post(_link(verification, "/accounts/confirm-email/"))

    # A password reset asked from a French page still writes in the customer's language.
    assert (
        Client(HTTP_ACCEPT_LANGUAGE="fr").post("/accounts/password/reset/", {"email": ADDRESS}).status_code
        == 302
    )
    assert consent_check(subject_id=user.subject_id, purpose="newsletter")
    campaign_send(template="demo", purpose="newsletter")
    _verification, reset, campaign = smtp_server.wait_for(3)
    assert reset["Subject"] == "Password Reset Email" and _body(reset).startswith(f"Hello {NAME},")
    assert campaign["Subject"] == "News from us" and "Hello," in _body(campaign)


def test_changing_the_language_in_my_account_changes_the_next_mail(smtp_server) -> None:
    user = user_create(email=ADDRESS, password=PASSWORD, name=NAME, birth_date=None, language="en")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.post("/accounts/login/", {"login": ADDRESS, "password": PASSWORD}).status_code == 302
    page = client.get("/account/").content.decode()
    assert (
        '<option value="en" selected>English</option>' in page
        and '<option value="fr">Français</option>' in page
    )

    details = {"name": NAME, "phone": "", "address_line": "", "postcode": "", "city": "", "country": ""}
    assert client.post("/account/", {**details, "language": "fr"}).status_code == 302
    user.refresh_from_db()
    assert user.language == "fr"
    assert list(Entry.objects.filter(type="rectification").values_list("payload__field", flat=True)) == [
        "accounts.User.language"
    ]
    # A language the policy does not offer changes nothing.
    refused = client.post("/account/", {**details, "language": "de"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    user.refresh_from_db()
    assert user.language == "fr"

    Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/password/reset/", {"email": ADDRESS})
    (reset,) = smtp_server.wait_for(1)
    assert reset["Subject"] == "E-mail de réinitialisation de mot de passe"
    assert _body(reset).startswith(f"Bonjour {NAME},")


def test_a_campaign_goes_to_each_account_holder_in_their_language(smtp_server) -> None:
    for address, lang in (("fr@example.fr", "fr"), ("en@example.fr", "en")):
        user = user_create(email=address, password=PASSWORD, name=NAME, birth_date=None, language=lang)
        consent_set(subject_id=user.subject_id, purpose="newsletter", granted=True, source="portal")
    campaign_send(template="demo", purpose="newsletter")
    subjects = {m.envelope_to[0]: str(m["Subject"]) for m in smtp_server.wait_for(2)}
    assert subjects == {"fr@example.fr": "Nos nouvelles", "en@example.fr": "News from us"}


def test_the_language_at_sign_up_is_the_page_language_and_one_the_policy_offers() -> None:
    _signup("fr")
    assert User.objects.get().language == "fr"
    client = Client(HTTP_ACCEPT_LANGUAGE="de")  # not offered: the policy's first language
    data = {
        "email": "other@example.fr",
        "password1": PASSWORD,
        "account_kind": "individual",
        "name": NAME,
        "birth_date": "1990-04-12",
        "terms": "on",
    }
    assert client.post("/accounts/signup/", data).status_code == 302
    assert (
        User.objects.get(email=email_pseudonym("other@example.fr")).language == policy_active().languages[0]
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_download_my_data_shows_the_expiry_without_a_double_period(lang) -> None:
    request = RequestFactory().get("/account/data/")
    request.user = AnonymousUser()
    latest = types.SimpleNamespace(
        pk=uuid.uuid4(),
        status="done",
        export_file="export.bin",
        export_expires_at=datetime.datetime(2026, 11, 23, 11, 23, tzinfo=datetime.UTC),  # 12:23 in Paris
        progress=100,
    )
    with translation.override(lang), timezone.override("Europe/Paris"):
        html = render_to_string("rights/my_data.html", {"latest": latest, "building": False}, request)
    status = re.search(r'<p role="status">(.*?)</p>', html, re.S).group(1)
    assert "12:23" in status and ".." not in status and "p.m." not in status
    assert status.endswith("23 November 2026, 12:23." if lang == "en" else "23 novembre 2026, 12:23.")


def test_the_language_of_a_subject_is_its_account_language() -> None:
    user = user_create(email=ADDRESS, password=PASSWORD, name=NAME, birth_date=None, language="en")
    assert subject_language(subject_id=user.subject_id) == "en"
    assert subject_language(subject_id=subject_create(kind="contact").pk) is None
