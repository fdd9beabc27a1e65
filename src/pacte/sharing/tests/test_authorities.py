"""Requests from authorities: two people, the gate, the ledger, the gag, and nothing written on a refusal."""

from __future__ import annotations

import datetime
import io
import uuid
import zipfile
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from pacte.accounts.selectors import user_email
from pacte.accounts.services import user_create
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.messaging.models import OutboxMessage
from pacte.rights import exports
from pacte.sharing import error_codes
from pacte.sharing.authorities import (
    authority_request_approve,
    authority_request_gag_lift,
    authority_request_record,
    authority_request_reject,
    authority_scope,
)
from pacte.sharing.authority_selectors import disclosures_withheld
from pacte.sharing.models import AuthorityRequest, AuthorityRequestSubject, AuthorityState
from pacte.sharing.selectors import disclosure_list
from pacte.subjects.services import subject_restrict

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
ALICE = "staff:alice"
BRUNO = "staff:bruno"
CLARA = "staff:clara"


def _customer(lang: str = "fr") -> Any:
    user = user_create(
        email=f"{uuid.uuid4().hex[:12]}@example.fr", password=None, name="Léa Roux", birth_date=None
    )
    user.language = lang
    user.save(update_fields=["language"])
    return user


def _record(subjects: list[Any], **overrides: Any) -> AuthorityRequest:
    fields: dict[str, Any] = {
        "authority_name": "Tribunal judiciaire de Lyon",
        "authority_kind": "judicial",
        "legal_basis": "Code de procédure pénale, art. 60-1",
        "reference": "PV 2026/118",
        "received_on": datetime.date(2026, 3, 2),
        "subject_ids": [str(s) for s in subjects],
        # contact.phone is declared in the policy, but not for the authorities: it must be stripped.
        "categories": ["identity.name", "contact.email", "contact.phone"],
        "recorded_by": ALICE,
    }
    fields.update(overrides)
    return authority_request_record(**fields)


def _steps() -> list[tuple[str, str, Any]]:
    return [
        (e.payload["step"], e.actor, e.subject_id)
        for e in Entry.objects.filter(type="authority.step").order_by("seq")
    ]


def _state() -> tuple[int, int, int, int, int]:
    """Everything a refused action must leave as it was."""
    return (
        AuthorityRequest.objects.count(),
        AuthorityRequestSubject.objects.count(),
        Entry.objects.count(),
        OutboxMessage.objects.count(),
        len(mail.outbox),
    )


def test_both_policies_let_the_authorities_receive_some_data_for_one_purpose() -> None:
    purpose, allowed = authority_scope()
    assert purpose == "legal_requests"
    assert allowed == {"identity.name", "contact.email", "contact.postal", "commerce.orders", "network.ip"}


def test_recording_writes_the_request_its_people_and_one_ledger_step_without_values() -> None:
    lea, marc = _customer(), _customer()
    request = _record([lea.subject_id, marc.subject_id, lea.subject_id])
    assert request.state == AuthorityState.RECORDED
    assert request.categories == ["contact.email", "contact.phone", "identity.name"]
    assert sorted(str(s) for s in request.subjects.values_list("subject_id", flat=True)) == sorted(
        [str(lea.subject_id), str(marc.subject_id)]
    )
    [entry] = Entry.objects.filter(type="authority.step")
    assert entry.subject_id is None and entry.actor == ALICE
    assert entry.payload == {"request_id": str(request.pk), "step": "recorded"}
    assert not Entry.objects.filter(type="disclosure").exists()


def test_a_second_person_approves_and_only_requested_and_allowed_kinds_are_disclosed() -> None:
    lea, marc = _customer("fr"), _customer("en")
    request = _record([lea.subject_id, marc.subject_id])
    sent = authority_request_approve(request=request, approver=BRUNO)

    request.refresh_from_db()
    assert request.state == AuthorityState.DISCLOSED and request.approved_by == BRUNO
    assert [d.categories_sent for d in sent] == [("contact.email", "identity.name")] * 2
    assert [d.stripped for d in sent] == [("contact.phone",)] * 2
    for person in (lea, marc):
        [entry] = Entry.objects.filter(type="disclosure", subject_id=person.subject_id)
        assert entry.actor == BRUNO
        assert entry.payload == {
            "recipient": "authorities",
            "purpose": "legal_requests",
            "categories": ["contact.email", "identity.name"],
        }
        link = request.subjects.get(subject_id=person.subject_id)
        assert link.disclosure_seq == entry.seq and link.told_at is not None
    assert _steps() == [("recorded", ALICE, None), ("approved", BRUNO, None), ("disclosed", BRUNO, None)]
    # Each person is told, in their language, and sees it in "Who received my data".
    told = {m.to[0]: m for m in mail.outbox}
    assert len(told) == 2
    assert "Une autorité a reçu" in told[user_email(user=lea)].subject
    assert "Tribunal judiciaire de Lyon" in told[user_email(user=lea)].body
    assert "Adresse e-mail, Nom" in told[user_email(user=lea)].body
    assert "téléphone" not in told[user_email(user=lea)].body
    assert told[user_email(user=marc)].subject == "An authority received some of your data"
    [row] = disclosure_list(subject_id=lea.subject_id, lang="fr")
    assert (row.recipient, row.category_labels) == ("authorities", ("Adresse e-mail", "Nom"))


def test_the_recorder_cannot_approve_or_reject_and_nothing_is_written() -> None:
    request = _record([_customer().subject_id])
    before = _state()
    for decide in (
        lambda: authority_request_approve(request=request, approver=ALICE),
        lambda: authority_request_reject(request=request, rejecter=ALICE, reason="Not competent"),
    ):
        with pytest.raises(PacteError) as refused:
            decide()
        assert refused.value.code == error_codes.AUTHORITY_SAME_PERSON
    assert _state() == before
    request.refresh_from_db()
    assert (request.state, request.approved_by, request.rejected_by) == (AuthorityState.RECORDED, "", "")


@pytest.mark.parametrize("field", ["approved_by", "rejected_by"])
def test_the_database_refuses_the_recorder_as_approver_even_outside_the_service(field: str) -> None:
    request = _record([_customer().subject_id])
    with pytest.raises(IntegrityError), transaction.atomic():
        AuthorityRequest.objects.filter(pk=request.pk).update(**{field: F("recorded_by")})
    with pytest.raises(IntegrityError), transaction.atomic():  # no approved state without an approver
        AuthorityRequest.objects.filter(pk=request.pk).update(state=AuthorityState.DISCLOSED)
    request.refresh_from_db()
    assert (request.approved_by, request.rejected_by, request.state) == ("", "", AuthorityState.RECORDED)


def test_a_decided_request_cannot_be_approved_again_nor_rejected() -> None:
    request = _record([_customer().subject_id])
    authority_request_approve(request=request, approver=BRUNO)
    before = _state()
    for decide in (
        lambda: authority_request_approve(request=request, approver=CLARA),
        lambda: authority_request_reject(request=request, rejecter=CLARA, reason="Too late"),
    ):
        with pytest.raises(PacteError) as refused:
            decide()
        assert refused.value.code == error_codes.AUTHORITY_ALREADY_DECIDED
    assert _state() == before
    request.refresh_from_db()
    assert request.approved_by == BRUNO


def test_a_rejection_discloses_nothing_and_needs_a_reason() -> None:
    lea = _customer()
    request = _record([lea.subject_id])
    with pytest.raises(PacteError) as refused:
        authority_request_reject(request=request, rejecter=BRUNO, reason="  ")
    assert refused.value.code == error_codes.AUTHORITY_FIELD_MISSING
    authority_request_reject(request=request, rejecter=BRUNO, reason="No legal basis given")
    request.refresh_from_db()
    assert (request.state, request.rejected_by, request.rejection_reason) == (
        AuthorityState.REJECTED,
        BRUNO,
        "No legal basis given",
    )
    assert not Entry.objects.filter(type="disclosure").exists()
    assert mail.outbox == [] and disclosure_list(subject_id=lea.subject_id, lang="en") == []
    assert _steps() == [("recorded", ALICE, None), ("rejected", BRUNO, None)]


def test_a_refused_disclosure_undoes_the_whole_approval() -> None:
    lea, marc = _customer(), _customer()
    request = _record([lea.subject_id, marc.subject_id])
    subject_restrict(subject_id=marc.subject_id, restricted=True)
    before = _state()
    with pytest.raises(PacteError) as refused:
        authority_request_approve(request=request, approver=BRUNO)
    assert refused.value.code == error_codes.RESTRICTED
    assert _state() == before
    request.refresh_from_db()
    assert (request.state, request.approved_by) == (AuthorityState.RECORDED, "")
    assert not request.subjects.filter(disclosure_seq__isnull=False).exists()


def test_a_gagged_request_tells_nobody_and_shows_nothing_until_the_ban_is_lifted() -> None:
    lea = _customer()
    request = _record([lea.subject_id], gag=True, gag_reference="CPP art. 11 (secret de l’enquête)")
    authority_request_approve(request=request, approver=BRUNO)
    [entry] = Entry.objects.filter(type="disclosure", subject_id=lea.subject_id)  # on the record all the same
    assert disclosures_withheld(subject_id=lea.subject_id) == {entry.seq}
    assert disclosure_list(subject_id=lea.subject_id, lang="fr") == []
    assert mail.outbox == [] and not OutboxMessage.objects.exists()
    assert request.subjects.get().told_at is None

    authority_request_gag_lift(request=request, actor=CLARA)
    assert disclosures_withheld(subject_id=lea.subject_id) == set()
    [row] = disclosure_list(subject_id=lea.subject_id, lang="fr")
    assert row.seq == entry.seq
    assert len(mail.outbox) == 1 and request.subjects.get().told_at is not None
    assert _steps()[-1] == ("gag_lifted", CLARA, None)
    with pytest.raises(PacteError) as refused:
        authority_request_gag_lift(request=request, actor=CLARA)
    assert refused.value.code == error_codes.AUTHORITY_NOT_GAGGED


def test_a_gag_lifted_before_the_decision_tells_the_person_at_approval() -> None:
    lea = _customer()
    request = _record([lea.subject_id], gag=True, gag_reference="LCEN art. 6-II")
    authority_request_gag_lift(request=request, actor=CLARA)
    assert mail.outbox == []
    authority_request_approve(request=request, approver=BRUNO)
    assert len(mail.outbox) == 1
    assert len(disclosure_list(subject_id=lea.subject_id, lang="en")) == 1


def _not_a_person() -> str:
    return str(uuid.uuid4())


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"authority_name": " "}, error_codes.AUTHORITY_FIELD_MISSING),
        ({"authority_kind": "army"}, error_codes.AUTHORITY_UNKNOWN_KIND),
        ({"legal_basis": ""}, error_codes.AUTHORITY_FIELD_MISSING),
        ({"reference": ""}, error_codes.AUTHORITY_FIELD_MISSING),
        ({"received_on": timezone.localdate() + datetime.timedelta(days=2)}, error_codes.AUTHORITY_BAD_DATE),
        ({"categories": []}, error_codes.AUTHORITY_UNKNOWN_CATEGORY),
        ({"categories": ["identity.name", "health.records"]}, error_codes.AUTHORITY_UNKNOWN_CATEGORY),
        ({"categories": ["contact.phone", "identity.birth_date"]}, error_codes.AUTHORITY_NOTHING_ALLOWED),
        ({"gag": True, "gag_reference": " "}, error_codes.AUTHORITY_GAG_REFERENCE_MISSING),
        ({"subject_ids": []}, error_codes.AUTHORITY_NO_SUBJECT),
        ({"subject_ids": ["not-an-id"]}, error_codes.AUTHORITY_UNKNOWN_SUBJECT),
        ({"subject_ids": "unknown"}, error_codes.AUTHORITY_UNKNOWN_SUBJECT),
    ],
)
def test_bad_input_is_refused_with_its_code_and_nothing_is_written(overrides: dict, code: str) -> None:
    lea = _customer()
    if overrides.get("subject_ids") == "unknown":
        overrides = {"subject_ids": [str(lea.subject_id), _not_a_person()]}
    before = _state()
    with pytest.raises(PacteError) as refused:
        _record([lea.subject_id], **overrides)
    assert refused.value.code == code
    assert _state() == before


def test_an_erased_person_cannot_be_named() -> None:
    lea = _customer()
    lea.subject.erased_at = timezone.now()
    lea.subject.save(update_fields=["erased_at"])
    with pytest.raises(PacteError) as refused:
        _record([lea.subject_id])
    assert refused.value.code == error_codes.AUTHORITY_UNKNOWN_SUBJECT
    assert not AuthorityRequest.objects.exists()


def _exported_disclosures(user: Any) -> tuple[int, int, str]:
    out = io.BytesIO()
    exports.export_write(subject=user.subject, out=out, lang="en")
    with zipfile.ZipFile(out) as archive:
        disclosures = archive.read("disclosures.csv").decode()
        ledger = archive.read("ledger.csv").decode()
        data = archive.read("data.json").decode()
    return disclosures.count("authorities"), ledger.count("authorities"), data


def test_the_persons_export_leaves_out_a_gagged_disclosure_until_the_ban_is_lifted() -> None:
    lea = _customer()
    request = _record([lea.subject_id], gag=True, gag_reference="CPP art. 11")
    authority_request_approve(request=request, approver=BRUNO)
    in_disclosures, in_ledger, data = _exported_disclosures(lea)
    assert (in_disclosures, in_ledger) == (0, 0) and "authorities" not in data
    authority_request_gag_lift(request=request, actor=CLARA)
    in_disclosures, in_ledger, data = _exported_disclosures(lea)
    assert (in_disclosures, in_ledger) == (1, 1) and '"recipient": "authorities"' in data
