"""Consent state: ledger entries, the one-read check, the portal and the receipts."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from pacte.accounts.services import user_create
from pacte.consent import selectors
from pacte.consent.models import ConsentState
from pacte.consent.selectors import banner_purposes, consent_check, consent_list, subject_purpose_list
from pacte.consent.services import consent_set, consents_withdraw_all
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.ledger.selectors import receipt_check
from pacte.subjects.services import subject_create, subject_mark_erased

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"


def test_granting_and_withdrawing_are_ledger_entries_and_the_check_follows() -> None:
    subject = subject_create(kind="subscriber")
    assert consent_check(subject_id=subject.pk, purpose="newsletter") is False  # silence is refusal
    assert consent_set(subject_id=subject.pk, purpose="newsletter", granted=False, source="portal") is None
    assert not Entry.objects.filter(subject_id=subject.pk).exists()

    state = consent_set(subject_id=subject.pk, purpose="newsletter", granted=True, source="signup")
    assert state is not None and consent_check(subject_id=subject.pk, purpose="newsletter") is True
    entry = Entry.objects.get(seq=state.entry_seq)
    assert entry.type == "consent.granted" and entry.subject_id == subject.pk
    assert entry.payload == {"purpose": "newsletter", "policy_version": 1, "source": "signup"}
    # The same state again records nothing.
    consent_set(subject_id=subject.pk, purpose="newsletter", granted=True, source="portal")
    assert Entry.objects.filter(subject_id=subject.pk).count() == 1

    consent_set(subject_id=subject.pk, purpose="newsletter", granted=False, source="email_link")
    assert consent_check(subject_id=subject.pk, purpose="newsletter") is False
    types = list(Entry.objects.filter(subject_id=subject.pk).order_by("seq").values_list("type", flat=True))
    assert types == ["consent.granted", "consent.withdrawn"]
    assert ConsentState.objects.get(subject=subject).source == "email_link"


@pytest.mark.parametrize(
    ("purpose", "code"),
    [("selling_data", "consent.unknown_purpose"), ("account_management", "consent.not_a_consent_purpose")],
)
def test_a_purpose_that_is_unknown_or_not_consent_based_is_refused(purpose, code) -> None:
    subject = subject_create()
    with pytest.raises(PacteError) as refused:
        consent_set(subject_id=subject.pk, purpose=purpose, granted=True, source="api")
    assert refused.value.code == code
    assert not Entry.objects.filter(subject_id=subject.pk).exists() and not ConsentState.objects.exists()


def test_an_erased_or_unknown_subject_is_refused() -> None:
    with pytest.raises(PacteError) as unknown:
        consent_set(subject_id=uuid.uuid4(), purpose="newsletter", granted=True, source="api")
    assert unknown.value.status == 404
    subject = subject_mark_erased(subject=subject_create())
    with pytest.raises(PacteError) as erased:
        consent_set(subject_id=subject.pk, purpose="newsletter", granted=True, source="api")
    assert erased.value.status == 410


def test_withdraw_all_withdraws_each_granted_purpose() -> None:
    subject = subject_create()
    for purpose in ("newsletter", "promotions", "testimonials"):
        consent_set(subject_id=subject.pk, purpose=purpose, granted=True, source="portal")
    assert consents_withdraw_all(subject_id=subject.pk, source="staff") == 3
    assert not ConsentState.objects.filter(granted=True).exists()
    assert Entry.objects.filter(subject_id=subject.pk, type="consent.withdrawn").count() == 3


def test_the_policy_decides_what_the_banner_and_the_sign_up_ask() -> None:
    assert sorted(row.id for row in banner_purposes()) == ["live_chat", "social_widgets"]
    assert [pid for pid, _label in subject_purpose_list()] == ["newsletter", "promotions", "testimonials"]


def test_sign_up_records_only_the_ticked_boxes() -> None:
    data = {
        "email": "lea@example.fr",
        "password1": PASSWORD,
        "account_kind": "individual",
        "name": "Léa Dubois",
        "birth_date": "1990-01-01",
        "terms": "on",
        "consent_newsletter": "on",
    }
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/accounts/signup/").content.decode()
    # Every box is there, none is ticked.
    for pid in ("newsletter", "promotions", "testimonials"):
        assert f'name="consent_{pid}"' in page
    assert "checked" not in page.split('name="consent_newsletter"')[1].split(">")[0]
    assert Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/signup/", data).status_code == 302
    states = {s.purpose: (s.granted, s.source) for s in ConsentState.objects.all()}
    assert states == {"newsletter": (True, "signup")}


def test_my_consents_toggles_and_every_change_has_a_receipt_that_verifies() -> None:
    user = user_create(email="noe@example.fr", password=PASSWORD, name="Noé Roux", birth_date=None)
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.post("/accounts/login/", {"login": "noe@example.fr", "password": PASSWORD})
    page = client.get("/account/consents/").content.decode()
    assert "Mes consentements" in page and "Newsletter" in page and "Promotions" in page
    assert client.post("/account/consents/", {"purpose": "newsletter", "granted": "1"}).status_code == 302
    assert client.post("/account/consents/", {"purpose": "promotions", "granted": "1"}).status_code == 302
    assert client.post("/account/consents/", {"purpose": "newsletter", "granted": "0"}).status_code == 302
    rows = {row.purpose: row.granted for row in consent_list(subject_id=user.subject_id, banner=False)}
    assert rows == {"newsletter": False, "promotions": True, "testimonials": False}
    # A purpose the policy does not declare is refused with a message, nothing recorded.
    before = Entry.objects.count()
    refused = client.post("/account/consents/", {"purpose": "resale", "granted": "1"}, follow=True)
    assert "ne déclare aucune finalité" in refused.content.decode()
    assert Entry.objects.count() == before

    download = client.get("/account/consents/receipts.json")
    assert download["Content-Disposition"] == 'attachment; filename="consent-receipts.json"'
    bundle = json.loads(download.content)
    assert [r["entry"]["type"] for r in bundle["receipts"]] == [
        "consent.granted",
        "consent.granted",
        "consent.withdrawn",
    ]
    for receipt in bundle["receipts"]:
        receipt_check(receipt)  # raises if the proof does not hold
    bundle["receipts"][0]["entry"]["payload"]["purpose"] = "promotions"
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do: the tampered proof must not hold
        receipt_check(bundle["receipts"][0])


def test_the_banner_asks_again_when_the_policy_adds_a_widget(monkeypatch) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert "Your choice about cookies" in client.get("/").content.decode()
    client.post("/cookies/", {"action": "refuse", "next": "/"})
    assert "Your choice about cookies" not in client.get("/").content.decode()

    real = selectors.banner_purposes

    def with_a_new_widget(*, lang: str = "en"):
        rows = real(lang=lang)
        rows[0].widgets.append(("youtube", "YouTube video", "www.youtube-nocookie.com"))
        return rows

    monkeypatch.setattr(selectors, "banner_purposes", with_a_new_widget)
    assert "Your choice about cookies" in client.get("/").content.decode()
