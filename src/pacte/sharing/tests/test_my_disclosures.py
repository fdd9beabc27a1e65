"""'Who received my data' in My account: each disclosure of the person, in their language, theirs only."""

from __future__ import annotations

import pytest
from django.test import Client

from pacte.accounts.services import user_create
from pacte.sharing.services import disclose

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"


def _signed_in(email: str, lang: str) -> tuple[Client, object]:
    user = user_create(email=email, password=PASSWORD, name="Léa Roux", birth_date=None)
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    return client, user


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Who received my data", "Stripe Payments", "Email address", "Name"]),
        ("fr", ["Qui a reçu mes données", "Stripe Payments", "Adresse e-mail"]),
    ],
)
def test_each_disclosure_is_listed_in_the_persons_language(lang: str, words: list[str]) -> None:
    client, user = _signed_in("lea@example.fr", lang)
    disclose(
        recipient="stripe",
        purpose="payment",
        subject_id=user.subject_id,
        data={"name": ("identity.name", "Léa Roux"), "email": ("contact.email", "lea@example.fr")},
        actor="system",
    )
    page = client.get("/account/disclosures/").content.decode()
    for word in words:
        assert word in page, word
    assert "lea@example.fr" not in page.split("<table>", 1)[1]  # kinds of data, never the data


def test_someone_else_sees_nobody_and_a_visitor_must_sign_in() -> None:
    _client, lea = _signed_in("lea@example.fr", "en")
    disclose(
        recipient="stripe",
        purpose="payment",
        subject_id=lea.subject_id,
        data={"name": ("identity.name", "Léa Roux")},
        actor="system",
    )
    other, _user = _signed_in("marc@example.fr", "en")
    page = other.get("/account/disclosures/").content.decode()
    assert "Nobody: we have not passed your data to anyone." in page and "<table>" not in page
    assert Client().get("/account/disclosures/")["Location"].startswith("/accounts/login/")


def test_my_account_links_to_it() -> None:
    client, _user = _signed_in("lea@example.fr", "en")
    assert 'href="/account/disclosures/"' in client.get("/account/").content.decode()
