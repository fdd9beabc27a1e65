"""Staff pages for authority requests: permissions, the form's refusals, the two-person rule, FR and EN."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.contrib.auth.models import Permission
from django.test import Client

from pacte.accounts.services import user_create
from pacte.ledger.models import Entry
from pacte.sharing.models import AuthorityRequest, AuthorityRequestSubject, AuthorityState

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "une longue phrase de passe"
URL = "/staff/authority-requests/"


def _staff(email: str, *perms: str, lang: str = "en") -> tuple[Client, Any]:
    """A staff member with ``perms``, signed in the only way there is: password, then TOTP."""
    staff = user_create(email=email, password=PASSWORD, name="Agent", birth_date=None, is_staff=True)
    for codename in perms:
        staff.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label="sharing")
        )
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    code = format_hotp_value(hotp_value(secret, list(yield_hotp_counters_from_time())[-1]))
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    return client, staff


def _form(subject_id: Any, **overrides: Any) -> dict[str, Any]:
    data = {
        "authority_name": "DGFiP, direction régionale",
        "authority_kind": "tax",
        "legal_basis": "Livre des procédures fiscales, art. L81",
        "reference": "LPF-2026-77",
        "received_on": "2026-02-10",
        "subjects": f"{subject_id}\n",
        "categories": ["identity.name", "contact.postal"],
    }
    data.update(overrides)
    return data


def _customer() -> Any:
    return user_create(
        email=f"{uuid.uuid4().hex[:10]}@example.fr", password=None, name="Léa", birth_date=None
    )


def test_visitors_customers_and_staff_without_the_permission_are_kept_out() -> None:
    assert Client().get(URL).status_code == 302
    customer = Client()
    customer.force_login(_customer())
    assert customer.get(URL).status_code == 302  # staff_member_required: to the sign-in page
    nobody, _user = _staff("nobody@operator.example")
    assert nobody.get(URL).status_code == 403
    assert nobody.get(URL + "new/").status_code == 403
    reader, _user = _staff("reader@operator.example", "view_authorityrequest")
    assert reader.get(URL).status_code == 200
    assert reader.get(URL + "new/").status_code == 403


def test_recording_through_the_form_then_approval_by_someone_else() -> None:
    lea = _customer()
    alice, alice_user = _staff("alice@operator.example", "add_authorityrequest", "approve_authorityrequest")
    bruno, bruno_user = _staff("bruno@operator.example", "approve_authorityrequest")
    page = alice.get(URL + "new/").content.decode()
    assert "Phone number (not for authorities: will not be disclosed)" in page
    response = alice.post(URL + "new/", _form(lea.subject_id))
    request = AuthorityRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{URL}{request.pk}/"
    assert request.recorded_by == f"staff:{alice_user.pk}" and request.authority_kind == "tax"
    detail = alice.get(response["Location"]).content.decode()
    assert "You recorded this request: another person must approve or reject it." in detail
    assert "Approve and disclose" not in detail

    # The recorder's own POST is refused, whatever the page showed.
    refused = alice.post(f"{URL}{request.pk}/approve/")
    assert refused.status_code == 403 and "two-person rule" in refused.content.decode()
    request.refresh_from_db()
    assert request.state == AuthorityState.RECORDED

    assert "Approve and disclose" in bruno.get(f"{URL}{request.pk}/").content.decode()
    assert bruno.post(f"{URL}{request.pk}/approve/").status_code == 302
    request.refresh_from_db()
    assert (request.state, request.approved_by) == (AuthorityState.DISCLOSED, f"staff:{bruno_user.pk}")
    detail = bruno.get(f"{URL}{request.pk}/").content.decode()
    assert "Postal address, Name" in detail and "Answered with a disclosure" in detail
    again = bruno.post(f"{URL}{request.pk}/reject/", {"reason": "late"})
    assert again.status_code == 409 and "already decided" in again.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"subjects": "0f8fad5b-d9cb-469f-a165-70867728950e"}, "subjects", "There is no person with the id"),
        ({"subjects": "Léa Roux"}, "subjects", "is not a person&#x27;s id"),
        ({"gag": "on", "gag_reference": ""}, "gag_reference", "needs its legal reference"),
        ({"categories": ["contact.phone"]}, "categories", "none of these kinds of data"),
        ({"categories": ["nope"]}, "categories", "Select a valid choice"),
        ({"received_on": "2999-01-01"}, "received_on", "must be a past date"),
        ({"received_on": "10/02/2026x"}, "received_on", "Enter a valid date"),
        ({"reference": ""}, "reference", "This field is required"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_written(
    overrides: dict, field: str, message: str
) -> None:
    alice, _user = _staff("alice@operator.example", "add_authorityrequest")
    lea = _customer()
    entries = Entry.objects.count()
    response = alice.post(URL + "new/", _form(lea.subject_id, **overrides))
    page = response.content.decode()
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in page and message in page.split(f'id="id_{field}_error"', 1)[1][:400]
    assert not AuthorityRequest.objects.exists() and not AuthorityRequestSubject.objects.exists()
    assert Entry.objects.count() == entries


def test_the_pages_speak_french() -> None:
    lea = _customer()
    alice, _user = _staff("alice@operator.example", "add_authorityrequest", lang="fr")
    page = alice.get(URL + "new/").content.decode()
    assert "Enregistrer une demande d’une autorité" in page and "Types de données demandés" in page
    response = alice.post(URL + "new/", _form(lea.subject_id, gag="on", gag_reference=""))
    assert "exige sa référence légale" in response.content.decode()
    alice.post(URL + "new/", _form(lea.subject_id))
    listing = alice.get(URL).content.decode()
    assert "Demandes des autorités" in listing and "Administration fiscale" in listing


def test_a_rejection_needs_its_reason_and_a_ban_is_lifted_by_the_approver() -> None:
    lea = _customer()
    alice, _user = _staff("alice@operator.example", "add_authorityrequest")
    bruno, _user = _staff("bruno@operator.example", "approve_authorityrequest")
    alice.post(URL + "new/", _form(lea.subject_id, gag="on", gag_reference="CPP art. 11"))
    request = AuthorityRequest.objects.get()
    assert alice.post(f"{URL}{request.pk}/lift/").status_code == 403  # no approve permission
    missing = bruno.post(f"{URL}{request.pk}/reject/", {"reason": ""})
    assert missing.status_code == 400 and 'id="id_reason_error"' in missing.content.decode()
    request.refresh_from_db()
    assert request.state == AuthorityState.RECORDED
    assert bruno.post(f"{URL}{request.pk}/lift/").status_code == 302
    request.refresh_from_db()
    assert request.gag_lifted_at is not None and not request.gagged
    assert bruno.post(f"{URL}{request.pk}/reject/", {"reason": "Incompetent authority"}).status_code == 302
    request.refresh_from_db()
    assert (request.state, request.rejection_reason) == (AuthorityState.REJECTED, "Incompetent authority")
