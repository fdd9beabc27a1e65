"""Testimonials: written encrypted by a customer, published by staff, named only with the consent, taken
down at once by withdrawing it or by removal; off (404) under a policy without the purpose."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from pacte.commerce import models as commerce_models
from pacte.commerce import testimonials
from pacte.commerce.tests.helpers import DBS, customer_make
from pacte.consent.selectors import consent_check
from pacte.consent.services import consent_set
from pacte.ledger.models import Entry

pytestmark = pytest.mark.django_db(databases=DBS)
POLICIES = Path(__file__).resolve().parents[4] / "policies"


def _client(user=None, lang: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    if user is not None:
        client.force_login(user)
    return client


def _public() -> str:
    return _client().get("/testimonials/").content.decode()


def test_a_signed_testimonial_is_encrypted_grants_the_consent_and_waits_for_staff() -> None:
    user = customer_make()
    response = _client(user).post(
        "/testimonials/write/", {"text": "Un service impeccable.", "signed": "1", "name": "Léa R."}
    )
    assert response.status_code == 302 and response["Location"] == "/account/testimonials/"
    row = commerce_models.Testimonial.objects.get()
    assert row.signed and str(row.text) == "Un service impeccable." and str(row.author_name) == "Léa R."
    with connection.cursor() as cursor:
        cursor.execute("SELECT text, author_name FROM commerce_testimonial")
        stored = cursor.fetchone()
    assert all(value.startswith("v1:") and "impeccable" not in value for value in stored)
    assert consent_check(subject_id=user.subject_id, purpose="testimonials")
    assert Entry.objects.filter(type="consent.granted", subject_id=user.subject_id).count() == 1
    assert "Un service impeccable." not in _public()  # not published yet


def test_published_signed_shows_the_name_until_the_consent_is_withdrawn() -> None:
    user = customer_make()
    row = testimonials.testimonial_write(
        customer=user, text="Très bon suivi.", signed=True, name="", lang="fr"
    )
    testimonials.testimonial_publish(testimonial=row)
    page = _public()
    assert "Très bon suivi." in page and "Léa Roux" in page
    consent_set(subject_id=user.subject_id, purpose="testimonials", granted=False, source="portal")
    page = _public()
    assert "Très bon suivi." not in page and "Léa Roux" not in page


def test_an_unsigned_testimonial_is_shown_without_any_name_and_grants_no_consent() -> None:
    user = customer_make()
    response = _client(user).post("/testimonials/write/", {"text": "Rapide et clair.", "name": "Léa Roux"})
    assert response.status_code == 302
    row = commerce_models.Testimonial.objects.get()
    assert not row.signed and str(row.author_name) == ""
    assert not consent_check(subject_id=user.subject_id, purpose="testimonials")
    testimonials.testimonial_publish(testimonial=row)
    page = _public()
    assert "Rapide et clair." in page and "A customer" in page and "Léa Roux" not in page


def test_removal_from_my_account_takes_it_down_at_once() -> None:
    user = customer_make()
    row = testimonials.testimonial_write(
        customer=user, text="Je recommande.", signed=True, name="", lang="fr"
    )
    testimonials.testimonial_publish(testimonial=row)
    client = _client(user)
    mine = client.get("/account/testimonials/").content.decode()
    assert "Je recommande." in mine and "Shown on the testimonials page." in mine
    assert "Je recommande." in _public()
    response = client.post("/account/testimonials/", {"remove": str(row.pk)})
    assert response.status_code == 302
    assert not commerce_models.Testimonial.objects.exists()
    assert "Je recommande." not in _public()


def test_someone_elses_testimonial_cannot_be_removed() -> None:
    author = customer_make()
    other = customer_make("paul@example.fr", name="Paul")
    row = testimonials.testimonial_write(customer=author, text="Parfait.", signed=False, name="", lang="fr")
    _client(other).post("/account/testimonials/", {"remove": str(row.pk)})
    _client(other).post("/account/testimonials/", {"remove": "not-a-uuid"})
    assert commerce_models.Testimonial.objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "   "}, "Write your testimonial first."),
        ({"text": "x" * 2001}, "Your testimonial is too long: 2000 characters at most."),
        (
            {"text": "Bien.", "signed": "1", "name": "n" * 121},
            "Give the name to show (120 characters at most)",
        ),
    ],
)
def test_bad_input_is_explained_and_nothing_is_written(data, message) -> None:
    user = customer_make()
    response = _client(user).post("/testimonials/write/", data)
    assert response.status_code == 400 and message in response.content.decode()
    assert not commerce_models.Testimonial.objects.exists()
    assert not consent_check(subject_id=user.subject_id, purpose="testimonials")


def test_a_french_refusal_is_in_french() -> None:
    user = customer_make()
    response = _client(user, "fr").post("/testimonials/write/", {"text": ""})
    assert response.status_code == 400 and "Écrivez d’abord votre témoignage." in response.content.decode()


def test_visitors_are_sent_to_sign_in_to_write() -> None:
    response = _client().get("/testimonials/write/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_under_a_policy_without_testimonials_the_pages_are_not_found(settings) -> None:
    settings.PACTE_POLICY_FILE = str(POLICIES / "aplusc.toml")
    user = customer_make()
    assert _client().get("/testimonials/").status_code == 404
    assert _client(user).post("/testimonials/write/", {"text": "Bien."}).status_code == 404
    assert not commerce_models.Testimonial.objects.exists()
