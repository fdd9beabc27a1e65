"""Rights: export, erasure with legal hold, deadlines, objection and restriction, the registry check."""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from tests.testapp.models import Invoice, Person

from pacte.accounts.services import user_create
from pacte.consent.selectors import consent_check
from pacte.consent.services import consent_set
from pacte.core.errors import PacteError
from pacte.ledger.models import Entry
from pacte.rights import exports, services
from pacte.rights.flows import erasure as erasure_flow
from pacte.rights.models import RightsRequest, Status
from pacte.subjects import registry
from pacte.subjects.checks import registry_check as rights_registry_check
from pacte.subjects.registry import registrations
from pacte.vault.fields import ERASED

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _customer(email: str, name: str, street: str, language: str = "en"):
    user = user_create(
        email=email,
        password=PASSWORD,
        name=name,
        birth_date=None,
        language=language,  # the language of their mails
        phone="06 11 22 33 44",
        postal_address={"lines": [street], "postcode": "69001", "city": "Lyon", "country": "FR"},
    )
    Person.objects.create(
        subject=user.subject,
        name=name,
        email=email,
        phone="06 11 22 33 44",
        address={"lines": [street], "postcode": "69001", "city": "Lyon", "country": "FR"},
        birth_date=datetime.date(1980, 1, 2),
        notes={"likes": name.split()[0]},
    )
    Invoice.objects.create(subject=user.subject, billed_name=name, amount_cents=1200)
    consent_set(subject_id=user.subject_id, purpose="newsletter", granted=True, source="portal")
    return user


def _zip_text(blob: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_the_export_holds_every_record_of_the_subject_and_nothing_of_another() -> None:
    alice = _customer("alice.martin@example.fr", "Alice Martin", "1 rue Alpha")
    _customer("alicia.martin@example.fr", "Alicia Martin", "2 rue Beta")
    out = io.BytesIO()
    counts = exports.export_write(subject=alice.subject, out=out, lang="fr")
    files = _zip_text(out.getvalue())
    assert {
        "data.json",
        "index.html",
        "account.csv",
        "people.csv",
        "invoices.csv",
        "ledger.csv",
        "consent-receipts.json",
        "disclosures.csv",
    } <= set(files)
    data = json.loads(files["data.json"])
    assert data["format"] == "pacte-export-v1" and data["subject_id"] == str(alice.subject_id)
    (account,) = data["records"]["account"]
    assert account["email"] == "alice.martin@example.fr" and account["name"] == "Alice Martin"
    (person,) = data["records"]["people"]
    assert person["address"]["lines"] == ["1 rue Alpha"] and person["birth_date"] == "1980-01-02"
    assert person["notes"] == {"likes": "Alice"}
    assert data["records"]["invoices"][0]["billed_name"] == "Alice Martin"
    assert [c["purpose"] for c in data["consents"] if c["granted"]] == ["newsletter"]
    assert {row["type"] for row in data["ledger"]} >= {"account.created", "consent.granted"}
    assert counts["people"] == 1 and counts["ledger"] == len(data["ledger"])
    # Every field of every registered model with rows for her is in the export.
    for registration in registrations():
        rows = data["records"][registration.kind]
        if registration.model._meta.label in ("accounts.User", "usersessions.UserSession") or not rows:
            continue  # these two have their own exporters (real address, coarse network)
        fields = {f.attname for f in registration.model._meta.concrete_fields} - {"subject_id"}
        assert set(rows[0]) == fields, registration.kind
    assert data["records"]["people"][0]["email"] == "alice.martin@example.fr"
    everything = "".join(files.values())
    assert "Alicia" not in everything and "rue Beta" not in everything and "alicia" not in everything
    assert "Vos données" in files["index.html"]


def test_erasure_leaves_nothing_readable_keeps_the_invoice_and_spares_the_other(smtp_server) -> None:
    alice = _customer("alice.martin@example.fr", "Alice Martin", "1 rue Alpha")
    bob = _customer("bob.durand@example.fr", "Bob Durand", "3 rue Gamma")
    backup = list(Person.objects.filter(subject=alice.subject).values())  # a pre-erasure backup (ciphertext)
    request = services.request_create(
        subject=alice.subject, kind="erasure", channel="portal", identity_check="signed_in", lang="en"
    )
    out = io.BytesIO()  # an export made before the erasure…
    exports.export_write(subject=alice.subject, out=out)
    export = services.request_create(
        subject=alice.subject, kind="access", channel="portal", identity_check="signed_in"
    )
    (exports.export_dir() / "alice.zip").write_bytes(out.getvalue())
    RightsRequest.objects.filter(pk=export.pk).update(export_file="alice.zip")
    erasure_flow.erasure_run(request=request)
    assert not (exports.export_dir() / "alice.zip").exists()  # …is deleted with her

    request.refresh_from_db()
    assert request.status == Status.DONE and request.steps_done == [
        "received",
        "identity_verified",
        *erasure_flow.ERASURE_STEPS,
    ]
    steps = Entry.objects.filter(type="rights.step", payload__request_id=str(request.pk))
    assert steps.count() == len(request.steps_done)
    assert not Person.objects.filter(subject=alice.subject).exists()
    assert consent_check(subject_id=alice.subject_id, purpose="newsletter") is False
    (last_mail,) = smtp_server.wait_for(1)
    assert last_mail.envelope_to == ["alice.martin@example.fr"] and "deleted" in last_mail["Subject"]
    # The invoice stays, readable under its legal-hold key; everything else reads as erased.
    assert Invoice.objects.get(subject=alice.subject).billed_name == "Alice Martin"
    alice.refresh_from_db()
    assert alice.name is ERASED and alice.postal_address is ERASED and not alice.is_active
    # Restoring the backup brings the rows back, not the person.
    Person.objects.bulk_create([Person(**row) for row in backup])
    restored = Person.objects.get(subject=alice.subject)
    assert restored.name is ERASED and restored.email is ERASED and restored.address is ERASED
    # Bob is intact and can still sign in.
    assert Person.objects.get(subject=bob.subject).name == "Bob Durand"
    assert (
        Client()
        .post("/accounts/login/", {"login": "bob.durand@example.fr", "password": PASSWORD})
        .status_code
        == 302
    )
    assert (
        Client()
        .post("/accounts/login/", {"login": "alice.martin@example.fr", "password": PASSWORD})
        .status_code
        == 200
    )
    # Running it again does nothing more.
    before = Entry.objects.count()
    erasure_flow.erasure_run(request=request)
    assert Entry.objects.count() == before


def test_requests_are_due_in_one_month_and_extensions_follow_the_rules() -> None:
    user = user_create(email="c@example.fr", password=PASSWORD, name="C", birth_date=None)
    received = datetime.datetime(2026, 1, 31, 10, 0, tzinfo=datetime.UTC)
    old = services.request_create(
        subject=user.subject,
        kind="access",
        channel="post",
        identity_check="postal_match",
        received_at=received,
        recorded_by="staff:1",
    )
    assert old.due_at == datetime.datetime(2026, 2, 28, 10, 0, tzinfo=datetime.UTC)
    assert old.is_overdue  # received in January, not answered: overdue today
    with pytest.raises(PacteError):
        services.request_extend(
            request=old, months=2, reason="many archives"
        )  # too late: first month is over
    fresh = services.request_create(
        subject=user.subject, kind="access", channel="email", identity_check="account_email"
    )
    with pytest.raises(PacteError):
        services.request_extend(request=fresh, months=3, reason="x")
    services.request_extend(request=fresh, months=2, reason="Paper archives to search")
    assert fresh.extended_to == services.months_after(fresh.due_at, 2)
    assert "extended" in fresh.steps_done and not fresh.is_overdue


def test_objection_withdraws_and_restriction_freezes_consent_checks() -> None:
    user = user_create(email="d@example.fr", password=PASSWORD, name="D", birth_date=None)
    for purpose in ("newsletter", "promotions"):
        consent_set(subject_id=user.subject_id, purpose=purpose, granted=True, source="portal")
    restriction = services.request_create(
        subject=user.subject, kind="restriction", channel="portal", identity_check="signed_in"
    )
    services.restriction_apply(request=restriction)
    assert consent_check(subject_id=user.subject_id, purpose="newsletter") is False
    services.restriction_apply(request=restriction, lift=True)
    assert consent_check(subject_id=user.subject_id, purpose="newsletter") is True
    objection = services.request_create(
        subject=user.subject, kind="objection", channel="portal", identity_check="signed_in"
    )
    services.objection_apply(request=objection, purposes=["promotions"])
    assert consent_check(subject_id=user.subject_id, purpose="promotions") is False
    assert consent_check(subject_id=user.subject_id, purpose="newsletter") is True
    assert RightsRequest.objects.get(pk=objection.pk).status == Status.DONE


def test_download_my_data_from_the_portal_only_for_its_owner(
    immediate_tasks, smtp_server, django_capture_on_commit_callbacks
) -> None:
    _customer("eve@example.fr", "Eve Leroy", "4 rue Delta")
    user_create(email="mallory@example.fr", password=PASSWORD, name="Mallory", birth_date=None)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post("/accounts/login/", {"login": "eve@example.fr", "password": PASSWORD})
    with django_capture_on_commit_callbacks(execute=True):  # the task is enqueued once the request commits
        assert client.post("/account/data/").status_code == 302
    request = RightsRequest.objects.get(kind="access")
    assert request.export_file and request.status == Status.DONE
    page = client.get("/account/data/").content.decode()
    assert "Your file is ready" in page
    download = client.get(f"/account/data/{request.pk}/download/")
    blob = b"".join(download.streaming_content)
    assert "Eve Leroy" in _zip_text(blob)["data.json"]
    (ready,) = smtp_server.wait_for(1)
    assert ready.envelope_to == ["eve@example.fr"]
    other = Client()
    other.post("/accounts/login/", {"login": "mallory@example.fr", "password": PASSWORD})
    assert other.get(f"/account/data/{request.pk}/download/").status_code == 404
    RightsRequest.objects.filter(pk=request.pk).update(
        export_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert client.get(f"/account/data/{request.pk}/download/").status_code == 410
    # Expired, the file itself goes (it holds the data in clear).
    path = exports.export_dir() / request.export_file
    assert path.exists() and exports.exports_purge() == 1 and not path.exists()


def test_delete_my_account_needs_the_password_and_the_word(
    immediate_tasks, smtp_server, django_capture_on_commit_callbacks
) -> None:
    user = _customer("fred@example.fr", "Fred Noir", "5 rue Epsilon", language="fr")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.post("/accounts/login/", {"login": "fred@example.fr", "password": PASSWORD})
    wrong = client.post("/account/delete/", {"password": "pas le bon", "word": "SUPPRIMER"}).content.decode()
    assert "Ce n’est pas votre mot de passe actuel." in wrong
    no_word = client.post("/account/delete/", {"password": PASSWORD, "word": "oui"}).content.decode()
    assert "SUPPRIMER" in no_word
    assert not RightsRequest.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/account/delete/", {"password": PASSWORD, "word": "supprimer"})
    assert "Votre compte est en cours de suppression" in done.content.decode()
    user.refresh_from_db()
    assert user.subject.erased_at is not None and user.name is ERASED
    assert client.get("/account/").status_code == 302
    (last,) = smtp_server.wait_for(1)
    assert "supprimé" in last["Subject"]


def test_a_model_with_personal_data_and_no_eraser_stops_start_up() -> None:
    assert rights_registry_check() == []
    saved = registry._registry.pop("testapp.Person")
    try:
        (error,) = rights_registry_check()
        assert error.id == "pacte.E030" and "testapp.Person" in error.msg
    finally:
        registry._registry["testapp.Person"] = saved


def test_the_rights_command_lists_overdue_requests_exports_and_refuses_a_bad_subject(tmp_path) -> None:
    user = _customer("gil@example.fr", "Gil Rose", "6 rue Zeta")
    old = datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC)
    services.request_create(
        subject=user.subject,
        kind="access",
        channel="post",
        identity_check="postal_match",
        received_at=old,
        recorded_by="system",
    )
    services.request_create(
        subject=user.subject, kind="rectification", channel="email", identity_check="account_email"
    )
    everything, overdue = StringIO(), StringIO()
    call_command("rights", "list", stdout=everything)
    call_command("rights", "list", "--overdue", stdout=overdue)
    assert "2 request(s)." in everything.getvalue()
    assert "OVERDUE" in overdue.getvalue() and "1 request(s)." in overdue.getvalue()
    out = tmp_path / "gil.zip"
    call_command("rights", "export", str(user.subject_id), "--out", str(out), stdout=StringIO())
    assert "Gil Rose" in _zip_text(out.read_bytes())["data.json"]
    with pytest.raises(CommandError, match="no subject"):
        call_command("rights", "export", "not-a-uuid", "--out", str(out))
