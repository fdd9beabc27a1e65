"""The consent API: answers match the portal after each change, receipts verify, bad input is a 4xx problem."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from pacte.accounts.services import user_create
from pacte.api.models import ConsentEvidence
from pacte.api.services import apikey_create, apikey_revoke
from pacte.consent.selectors import consent_list
from pacte.ledger.models import Entry
from pacte.ledger.selectors import receipt_check

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"


@pytest.fixture
def api():
    from django.core.cache import cache

    cache.clear()
    key, secret = apikey_create(name="shop")
    return key, Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _portal(client: Client) -> dict[str, bool]:
    page = client.get("/account/consents/").content.decode()
    return {
        pid: 'aria-label="Withdraw: ' in page.split(f'id="consent-{pid}"')[1].split("</tr>")[0]
        for pid in ("newsletter", "promotions", "testimonials")
    }


def test_the_api_matches_the_portal_after_each_change_and_every_change_has_a_receipt(api) -> None:
    key, client = api
    user = user_create(email="api@example.fr", password=PASSWORD, name="Api Person", birth_date=None)
    portal = Client(HTTP_ACCEPT_LANGUAGE="en")
    portal.post("/accounts/login/", {"login": "api@example.fr", "password": PASSWORD})
    base = f"/api/v1/subjects/{user.subject_id}/consents"

    changes = [
        ("api", {"purpose": "newsletter", "granted": True, "evidence": "Ticked box on the shop's checkout"}),
        ("portal", {"purpose": "promotions", "granted": "1"}),
        (
            "api",
            {"purpose": "newsletter", "granted": False, "source": "staff", "evidence": "Letter of 3 May"},
        ),
        ("portal", {"purpose": "testimonials", "granted": "1"}),
    ]
    for channel, change in changes:
        if channel == "api":
            response = client.post(base, json.dumps(change), content_type="application/json")
            assert response.status_code == 200, response.content
            body = response.json()
            receipt_check(body["receipt"])  # the receipt of this very change verifies
            entry = Entry.objects.get(seq=body["receipt_seq"])
            assert entry.actor == f"api:{key.prefix}" and entry.payload["purpose"] == change["purpose"]
        else:
            portal.post("/account/consents/", change)
        listed = {row["purpose"]: row["granted"] for row in client.get(base).json()}
        one_by_one = {pid: client.get(f"{base}/{pid}").json()["granted"] for pid in listed}
        expected = {row["purpose"]: row["granted"] for row in consent_list(subject_id=user.subject_id)}
        assert listed == one_by_one == expected
        assert {pid: listed[pid] for pid in ("newsletter", "promotions", "testimonials")} == _portal(portal)
    assert [str(e.evidence) for e in ConsentEvidence.objects.order_by("created_at")] == [
        "Ticked box on the shop's checkout",
        "Letter of 3 May",
    ]
    openapi = Client().get("/api/v1/openapi.json")
    assert openapi.status_code == 200 and "/api/v1/subjects/{subject_id}/consents" in openapi.json()["paths"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "/api/v1/subjects/not-a-uuid/consents", None, 422, "api.invalid_request"),
        ("get", "/api/v1/subjects/{unknown}/consents", None, 404, "consent.unknown_subject"),
        ("get", "/api/v1/subjects/{subject}/consents/resale", None, 404, "consent.unknown_purpose"),
        (
            "get",
            "/api/v1/subjects/{subject}/consents/account_management",
            None,
            422,
            "consent.not_a_consent_purpose",
        ),
        ("post", "/api/v1/subjects/{subject}/consents", "{not json", 400, "api.bad_request"),
        (
            "post",
            "/api/v1/subjects/{subject}/consents",
            {"purpose": "newsletter"},
            422,
            "api.invalid_request",
        ),
        (
            "post",
            "/api/v1/subjects/{subject}/consents",
            {"purpose": "newsletter", "granted": True, "source": "banner"},
            422,
            "api.invalid_request",
        ),
        (
            "post",
            "/api/v1/subjects/{subject}/consents",
            {"purpose": "x" * 65, "granted": True},
            422,
            "api.invalid_request",
        ),
        (
            "post",
            "/api/v1/subjects/{unknown}/consents",
            {"purpose": "newsletter", "granted": True},
            404,
            "consent.unknown_subject",
        ),
        ("get", "/api/v1/nowhere", None, 404, "api.not_found"),
    ],
)
def test_bad_input_is_a_4xx_problem_and_changes_nothing(api, method, path, body, status, code) -> None:
    _key, client = api
    user = user_create(email="b@example.fr", password=PASSWORD, name="B", birth_date=None)
    url = path.format(subject=user.subject_id, unknown=uuid.uuid4())
    before = Entry.objects.count()
    if method == "get":
        response = client.get(url)
    else:
        data = body if isinstance(body, str) else json.dumps(body)
        response = client.post(url, data, content_type="application/json")
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code and response.json()["status"] == status
    assert Entry.objects.count() == before


def test_a_missing_wrong_or_revoked_key_is_refused(api) -> None:
    key, client = api
    user = user_create(email="c@example.fr", password=PASSWORD, name="C", birth_date=None)
    url = f"/api/v1/subjects/{user.subject_id}/consents"
    assert client.get(url).status_code == 200
    for other in (Client(), Client(HTTP_AUTHORIZATION="Bearer pacte_nope_nope")):
        refused = other.get(url)
        assert refused.status_code == 401 and refused["Content-Type"] == "application/problem+json"
    apikey_revoke(prefix=key.prefix)
    assert client.get(url).status_code == 401


def test_the_apikey_command_shows_the_secret_once_and_revokes() -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    from pacte.api.models import ApiKey

    out, err = StringIO(), StringIO()
    call_command("apikey", "create", "crm", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    key = ApiKey.objects.get(name="crm")
    assert secret.startswith(f"pacte_{key.prefix}_") and secret not in repr(list(ApiKey.objects.values()))
    listing = StringIO()
    call_command("apikey", "list", stdout=listing)
    assert f"{key.prefix}  crm" in listing.getvalue() and "active" in listing.getvalue()
    call_command("apikey", "revoke", key.prefix, stdout=StringIO())
    key.refresh_from_db()
    assert key.revoked_at is not None
    with pytest.raises(CommandError, match="no API key"):
        call_command("apikey", "revoke", "zzzz")
