"""Journeys in a real browser (Chromium through Playwright) with a real SMTP server capturing the mail."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core.cache import cache

from pacte.accounts.models import Organisation, User
from pacte.accounts.services import user_create
from pacte.accounts.tests.test_accounts import _row_counts
from pacte.ledger.models import Entry

DBS = ["default", "keys", "telemetry"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases=DBS, transaction=True)]
PASSWORD = "une longue phrase de passe"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _link(message, path: str) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]+)", body)
    assert match, body
    return match.group(1)


def _fill_signup(page, *, email: str, name: str, birth_date: str = "1988-06-15") -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Date of birth").fill(birth_date)
    page.get_by_label("Phone (optional)").fill("06 12 34 56 78")
    page.get_by_label("Street and number", exact=True).fill("12 rue de la République")
    page.get_by_label("Postcode", exact=True).fill("69002")
    page.get_by_label("City", exact=True).fill("Lyon")
    page.get_by_label("I accept the terms of use").check()


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()


def test_a_customer_signs_up_verifies_edits_ends_a_session_deactivates_and_comes_back(
    page, chromium, live_server, smtp_server, artifacts_dir
) -> None:
    base = live_server.url
    page.goto(f"{base}/")
    page.locator("#main").get_by_role("link", name="Create an account").click()
    page.screenshot(path=str(artifacts_dir / "signup-en.png"), full_page=True)
    _fill_signup(page, email="Camille.Martin@example.fr", name="Camille Martin")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Verify Your Email Address").is_visible()

    (message,) = smtp_server.wait_for(1)
    assert message.envelope_to == ["Camille.Martin@example.fr"]
    page.goto(base + _link(message, "/accounts/confirm-email/"))
    assert page.get_by_text(
        "Please confirm that Camille.Martin@example.fr is your e-mail address."
    ).is_visible()
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()

    _sign_in(page, base, "camille.martin@example.fr")
    assert page.get_by_role("heading", name="My account", exact=True).is_visible()
    assert page.get_by_text("Camille.Martin@example.fr").is_visible()
    # Every promise of the portal is reachable from its menu, in words a customer looks for.
    menu = page.get_by_role("navigation", name="My account")
    for name in ("Download my data", "Delete my account", "Deactivate my account", "Active sessions"):
        assert menu.get_by_role("link", name=name).is_visible()

    details = page.locator("#details")
    details.get_by_label("Full name").fill("Camille Martin-Roux")
    details.get_by_label("Phone").fill("+33 7 00 00 00 01")
    details.get_by_label("Street and number").fill("3 place Bellecour")
    details.get_by_label("Postcode").fill("69002")
    details.get_by_label("City").fill("Lyon")
    page.get_by_role("button", name="Save my details").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your details have been updated.").is_visible()
    assert details.get_by_label("Full name").input_value() == "Camille Martin-Roux"
    assert details.get_by_label("Street and number").input_value() == "3 place Bellecour"
    user = User.objects.get()
    changed = sorted(e.payload["field"] for e in Entry.objects.filter(type="rectification"))
    assert changed == ["accounts.User.name", "accounts.User.phone", "accounts.User.postal_address"]
    assert user.phone == "+33 7 00 00 00 01"

    # A second browser signs in: two sessions are listed; the first ends the second.
    other = chromium.new_context(
        locale="en-GB", user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    )
    other_page = other.new_page()
    _sign_in(other_page, base, "camille.martin@example.fr")
    assert other_page.url.endswith("/account/")
    page.reload()
    sessions = page.locator("#sessions tbody tr")
    assert sessions.count() == 2
    assert page.locator("#sessions").get_by_text("Firefox 128 on Linux").is_visible()
    page.screenshot(path=str(artifacts_dir / "my-account-en.png"), full_page=True)
    page.locator("#sessions").get_by_role("button", name="Sign out this session").click()
    page.wait_for_load_state()
    assert page.locator("#sessions tbody tr").count() == 1
    other_page.goto(f"{base}/account/")
    assert "/accounts/login/" in other_page.url
    other.close()

    # Deactivate: the wrong password changes nothing; the right one ends the session.
    page.get_by_role("navigation", name="My account").get_by_role(
        "link", name="Deactivate my account"
    ).click()
    page.get_by_label("Your current password").fill("pas le bon")
    page.get_by_role("button", name="Deactivate my account").click()
    assert page.get_by_text("This is not your current password.").is_visible()
    user.refresh_from_db()
    assert user.deactivated_at is None
    page.get_by_label("Your current password").fill(PASSWORD)
    page.get_by_role("button", name="Deactivate my account").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your account is deactivated.").is_visible()
    user.refresh_from_db()
    assert user.deactivated_at is not None and user.mail_stopped

    # Signing in again within 30 days offers to reactivate.
    _sign_in(page, base, "camille.martin@example.fr")
    assert page.get_by_role("heading", name="Your account is deactivated").is_visible()
    page.get_by_role("button", name="Reactivate my account").click()
    page.wait_for_load_state()
    assert page.get_by_text("Welcome back: your account is active again.").is_visible()
    user.refresh_from_db()
    assert user.deactivated_at is None
    assert page.foreign_requests == []  # type: ignore[attr-defined]


def test_a_customer_signs_up_for_an_employer_in_french(
    chromium, live_server, smtp_server, artifacts_dir
) -> None:
    context = chromium.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/signup/")
    assert page.get_by_role("heading", name="Créer un compte").is_visible()
    # The employer's fields appear only for "For my employer" (CSS alone, no JavaScript needed).
    assert not page.get_by_label("Raison sociale de l’employeur").is_visible()
    page.get_by_label("Pour mon employeur").check()
    assert page.get_by_label("Raison sociale de l’employeur").is_visible()
    page.get_by_label("Courriel", exact=True).fill("gerant@atelier-martin.fr")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Nom complet").fill("Claire Martin")
    page.get_by_label("Date de naissance").fill("1975-02-03")
    page.get_by_label("Raison sociale de l’employeur").fill("Atelier Martin SARL")
    page.get_by_label("J’accepte les conditions d’utilisation").check()
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_load_state()
    # Without the authority warranty nothing is created, and the page says why, in French.
    assert page.get_by_text("Cochez cette case pour confirmer").is_visible()
    assert not User.objects.exists()
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("J’ai le pouvoir d’engager mon employeur").check()
    page.screenshot(path=str(artifacts_dir / "signup-employer-fr.png"), full_page=True)
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_load_state()
    org = Organisation.objects.get()
    assert org.legal_name == "Atelier Martin SARL" and org.administrator.kind == "employer"
    (message,) = smtp_server.wait_for(1)
    assert message.envelope_to == ["gerant@atelier-martin.fr"]
    context.close()


def test_a_minor_is_refused_kindly_and_the_databases_hold_nothing_new(page, live_server, smtp_server) -> None:
    page.goto(f"{live_server.url}/accounts/signup/")
    before = _row_counts()
    _fill_signup(page, email="leo@example.fr", name="Léo Petit", birth_date="2014-05-05")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_load_state()
    assert page.get_by_text("our services are for people aged 18 or over").is_visible()
    assert page.get_by_text("Nothing you typed has been kept.").is_visible()
    assert _row_counts() == before
    assert smtp_server == []


def test_a_customer_adds_a_passkey_and_signs_in_with_it(chromium, live_server) -> None:
    """WebAuthn against Chromium's virtual authenticator (DevTools protocol): no real device needed."""
    user_create(email="passkey@example.fr", password=PASSWORD, name="Sam Clé", birth_date=None)
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    base = live_server.url
    _sign_in(page, base, "passkey@example.fr")
    page.goto(f"{base}/accounts/2fa/webauthn/add/")
    if "/accounts/reauthenticate/" in page.url:  # adding a key asks for the password again
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_load_state()
    page.get_by_label("Name").fill("Laptop")
    page.get_by_label("Passwordless").check()
    page.get_by_role("button", name="Add").click()
    page.wait_for_url(lambda url: "/webauthn/add/" not in url)
    page.wait_for_load_state()
    assert Authenticator.objects.filter(type="webauthn").count() == 1

    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(re.compile(r".*/account/$"))
    assert page.get_by_role("heading", name="My account", exact=True).is_visible()
    context.close()
