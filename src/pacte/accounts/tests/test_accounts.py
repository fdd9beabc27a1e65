"""Accounts: sign-up for oneself or an employer, age gate, verification by real e-mail, My account."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections
from django.test import Client

from pacte.accounts.models import EmailIdentity, Organisation, User
from pacte.accounts.services import user_create
from pacte.ledger.models import Entry
from pacte.vault.keyring import system_secret
from pacte.vault.tests.dumps import dump_database

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"


def _signup_data(**overrides: str) -> dict[str, str]:
    data = {
        "email": "Camille.Martin@example.fr",
        "password1": PASSWORD,
        "account_kind": "individual",
        "name": "Camille Martin",
        "birth_date": "1990-04-12",
        "phone": "06 12 34 56 78",
        "address_line": "12 rue de la République",
        "postcode": "69002",
        "city": "Lyon",
        "country": "FR",
        "terms": "on",
    }
    data.update(overrides)
    return data


def _row_counts() -> dict[str, int]:
    # The blind-index key is infrastructure, not data about anyone: make sure it exists before counting.

    system_secret("blind-index")
    counts = {}
    for model in apps.get_models():
        alias = (
            "keys"
            if model._meta.app_label == "vault"
            else "telemetry"
            if model._meta.app_label == "telemetry"
            else "default"
        )
        counts[f"{alias}:{model._meta.db_table}"] = model.objects.using(alias).count()
    return counts


def _verification_link(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", body)
    assert match, body
    return match.group(1)


def test_sign_up_verify_by_mail_and_sign_in_with_the_real_address(smtp_server) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/accounts/signup/", _signup_data())
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get()
    # allauth's tables hold only the pseudonym; the real address is encrypted.
    assert user.email.endswith("@pseudonym.invalid") and "camille" not in user.email.lower()

    assert list(EmailAddress.objects.values_list("email", flat=True)) == [user.email]
    assert EmailIdentity.objects.get().email == "Camille.Martin@example.fr"
    assert user.name == "Camille Martin" and user.phone == "06 12 34 56 78"
    assert [e.type for e in Entry.objects.filter(subject_id=user.subject_id).order_by("seq")] == [
        "account.created",
        "terms.accepted",
        "policy.accepted",
    ]
    (message,) = smtp_server.wait_for(1)
    assert message.envelope_to == ["Camille.Martin@example.fr"]
    # Not verified yet: signing in is refused until the link is followed.
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post(_verification_link(message))
    assert EmailAddress.objects.get().verified is True
    response = client.post("/accounts/login/", {"login": "camille.martin@EXAMPLE.fr", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/account/"
    page = client.get("/account/").content.decode()
    assert "Camille.Martin@example.fr" in page and "Camille Martin" in page
    assert "Download my data" in page and "Delete my account" in page


def test_a_minor_is_refused_kindly_and_nothing_is_stored(smtp_server) -> None:
    before = _row_counts()
    response = Client(HTTP_ACCEPT_LANGUAGE="fr").post(
        "/accounts/signup/", _signup_data(birth_date="2015-01-01")
    )
    assert response.status_code == 200
    assert "nous ne pouvons pas créer de compte pour vous" in response.content.decode()
    assert _row_counts() == before
    assert smtp_server == []


def test_employer_registration_needs_the_authority_tick() -> None:
    before = _row_counts()
    data = _signup_data(
        account_kind="employer", org_legal_name="Atelier Martin SARL", org_registration_number="123 456 789"
    )
    refused = Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/signup/", data)
    assert refused.status_code == 200
    assert "Tick this box to confirm you may bind your employer" in refused.content.decode()
    assert _row_counts() == before
    accepted = Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/signup/", {**data, "authority": "on"})
    assert accepted.status_code == 302
    org = Organisation.objects.get()
    assert org.legal_name == "Atelier Martin SARL" and org.administrator == User.objects.get()
    assert User.objects.get().kind == "employer"


@pytest.mark.parametrize(
    ("lang", "overrides", "message"),
    [
        ("en", {"email": "not-an-email"}, "Enter a valid email address."),
        ("fr", {"email": "pas-une-adresse"}, "Saisissez une adresse de courriel valide."),
        ("en", {"password1": "short"}, "This password is too short."),
        ("fr", {"password1": "court"}, "Ce mot de passe est trop court."),
        ("en", {"terms": ""}, "This field is required."),
        ("fr", {"phone": "abc"}, "Saisissez un numéro de téléphone"),
        # Terminal control characters (an ANSI escape, a C1 control, a line break in a one-line name).
        ("en", {"name": "Camille \x1b[2J\x1b[31mMartin"}, "invisible control character"),
        ("fr", {"city": "Lyon\x9b"}, "caractère de contrôle invisible"),
        ("en", {"name": "Camille\nMartin"}, "invisible control character"),
    ],
)
def test_refused_input_is_explained_in_the_page_language_and_changes_nothing(
    lang, overrides, message
) -> None:
    before = _row_counts()
    response = Client(HTTP_ACCEPT_LANGUAGE=lang).post("/accounts/signup/", _signup_data(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _row_counts() == before


def _verified_user(client: Client | None = None) -> tuple[User, Client]:
    user = user_create(
        email="dominique@example.fr", password=PASSWORD, name="Dominique Bernard", birth_date=None
    )
    client = client or Client(HTTP_ACCEPT_LANGUAGE="en")
    assert (
        client.post("/accounts/login/", {"login": "dominique@example.fr", "password": PASSWORD}).status_code
        == 302
    )
    return user, client


def test_every_detail_edit_is_a_rectification_entry() -> None:
    user, client = _verified_user()
    response = client.post(
        "/account/",
        {
            "name": "Dominique Bernard-Roux",
            "phone": "+33 7 00 00 00 01",
            "address_line": "3 place Bellecour",
            "postcode": "69002",
            "city": "Lyon",
            "country": "FR",
        },  # fmt: skip
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.name == "Dominique Bernard-Roux"
    assert user.postal_address["city"] == "Lyon"
    fields = sorted(e.payload["field"] for e in Entry.objects.filter(type="rectification"))
    assert fields == ["accounts.User.name", "accounts.User.phone", "accounts.User.postal_address"]
    assert all(e.actor == f"subject:{user.subject_id}" for e in Entry.objects.filter(type="rectification"))
    bad = client.post("/account/", {"name": "X", "phone": "not a phone"})
    assert bad.status_code == 200 and "Enter a phone number" in bad.content.decode()
    assert Entry.objects.filter(type="rectification").count() == 3


def test_deactivation_needs_the_password_ends_every_session_and_can_be_undone() -> None:
    user, client = _verified_user()
    other_browser = Client()
    other_browser.post("/accounts/login/", {"login": "dominique@example.fr", "password": PASSWORD})
    assert other_browser.get("/account/").status_code == 200

    wrong = client.post("/account/deactivate/", {"password": "not my password"})
    assert "This is not your current password." in wrong.content.decode()
    user.refresh_from_db()
    assert user.deactivated_at is None and not Entry.objects.filter(type="account.deactivated").exists()

    assert client.post("/account/deactivate/", {"password": PASSWORD}).status_code == 302
    user.refresh_from_db()
    assert user.deactivated_at is not None and user.mail_stopped
    assert other_browser.get("/account/").status_code == 302  # that session ended too
    assert Entry.objects.filter(type="account.deactivated", subject_id=user.subject_id).count() == 1

    again = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = again.post("/accounts/login/", {"login": "dominique@example.fr", "password": PASSWORD})
    assert response["Location"] == "/account/reactivate/"
    assert "Do you want to use it again?" in again.get("/account/reactivate/").content.decode()
    assert again.post("/account/reactivate/").status_code == 302
    user.refresh_from_db()
    assert user.deactivated_at is None and not user.mail_stopped
    assert again.get("/account/").status_code == 200


def test_the_eleventh_wrong_password_in_a_minute_is_refused(settings) -> None:
    cache.clear()
    _verified_user()
    client = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="203.0.113.9")
    for _ in range(10):
        page = client.post(
            "/accounts/login/", {"login": "dominique@example.fr", "password": "wrong"}
        ).content.decode()
        assert "The email address and/or password you specified are not correct." in page
    eleventh = client.post(
        "/accounts/login/", {"login": "dominique@example.fr", "password": PASSWORD}
    ).content.decode()
    assert "Too many failed login attempts. Try again later." in eleventh
    cache.clear()


@pytest.mark.django_db(databases=DBS, transaction=True)  # committed rows: what a dump would see
def test_no_plaintext_of_registered_customers_in_any_database_dump() -> None:
    people = [(f"Personne{i} Exemple", f"personne{i}@exemple.fr", f"06 11 22 33 {i:02d}") for i in range(20)]
    for name, email, phone in people:
        user_create(email=email, password=PASSWORD, name=name, phone=phone, birth_date=None)
    dumps = [dump_database(alias) for alias in DBS]
    for name, email, phone in people:
        for dump in dumps:
            assert name not in dump and email not in dump and phone not in dump
            assert phone.replace(" ", "") not in dump
    assert connections["default"].vendor in {"sqlite", "postgresql"}


@pytest.mark.django_db(databases=DBS, transaction=True)  # committed rows: what a dump would see
def test_no_plaintext_of_a_thousand_seeded_customers_in_any_database_dump() -> None:

    out = StringIO()
    call_command("demo", "seed", "--customers", "1000", "--seed", "7", "--json", stdout=out)
    people = json.loads(out.getvalue())["people"]
    assert len(people) == 1000 and User.objects.count() == 1000
    assert {p["kind"] for p in people} == {"individual", "employer"}
    dumps = [dump_database(alias) for alias in DBS]
    needles = set()
    for person in people:
        needles |= {person["name"], person["email"], person["phone"], person["address"]["lines"][0]}
        needles |= {person["email"].split("@")[0], re.sub(r"\D", "", person["phone"])}
        if "organisation" in person:
            needles.add(person["organisation"]["legal_name"])
    # Whole words only: a company called "Blin" must not match the column "blind_index".
    pattern = re.compile(
        r"(?<!\w)(" + "|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)) + r")(?!\w)",
        re.IGNORECASE,
    )
    assert len(dumps[0]) > 1000 * 500  # the default dump really holds the 1,000 customers' rows
    for dump in dumps:
        assert pattern.findall(dump) == []
    # Every seeded customer can sign in with the printed demo password and the real address.
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/accounts/login/", {"login": people[3]["email"], "password": "demo-pacte-2026"})
    assert response.status_code == 302 and response["Location"] == "/account/"
