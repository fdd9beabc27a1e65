"""The consent API: answers match the portal after each change, receipts verify, bad input is a 4xx problem."""

from __future__ import annotations

import datetime
import json
import re
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

import pacte.consent.selectors
from pacte.accounts.services import user_create
from pacte.api.models import ApiKey, ConsentEvidence
from pacte.api.services import apikey_authenticate, apikey_create, apikey_revoke
from pacte.consent.models import ConsentState
from pacte.consent.selectors import consent_list
from pacte.consent.services import consent_set
from pacte.ledger.models import Entry
from pacte.ledger.selectors import receipt_check
from pacte.subjects.services import subject_create, subject_mark_erased

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"


@pytest.fixture
def api():
    key, secret = apikey_create(name="shop")
    # CSRF is enforced as for a real caller (a POST to an unknown route was the HTML CSRF page).
    return key, Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {secret}")


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
            {"purpose": "newsletter", "granted": False, "source": "api", "evidence": "Letter of 3 May"},
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
            assert entry.payload["source"] == "api" and body["source"] == "api"
        else:
            portal.post("/account/consents/", change)
        listed = {row["purpose"]: row["granted"] for row in client.get(base).json()}
        one_by_one = {pid: client.get(f"{base}/{pid}").json()["granted"] for pid in listed}
        expected = {row.purpose: row.granted for row in consent_list(subject_id=user.subject_id)}
        assert listed == one_by_one == expected
        assert {pid: listed[pid] for pid in ("newsletter", "promotions", "testimonials")} == _portal(portal)
    assert [str(e.evidence) for e in ConsentEvidence.objects.order_by("created_at")] == [
        "Ticked box on the shop's checkout",
        "Letter of 3 May",
    ]
    openapi = Client().get("/api/v1/openapi.json")
    assert openapi.status_code == 200 and "/api/v1/subjects/{subject_id}/consents" in openapi.json()["paths"]


SUBJECT = "/api/v1/subjects/{subject}/consents"
BIG = json.dumps({"purpose": "newsletter", "granted": False, "evidence": "x" * (3 * 1024 * 1024)})


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "/api/v1/subjects/not-a-uuid/consents", None, 422, "api.invalid_request"),
        ("get", "/api/v1/subjects/{unknown}/consents", None, 404, "consent.unknown_subject"),
        ("get", SUBJECT + "/resale", None, 404, "consent.unknown_purpose"),
        ("get", SUBJECT + "/account_management", None, 422, "consent.not_a_consent_purpose"),
        ("post", SUBJECT, "{not json", 400, "api.bad_request"),
        ("post", SUBJECT, {"purpose": "newsletter"}, 422, "api.invalid_request"),
        ("post", SUBJECT, {"purpose": "newsletter", "granted": False, "source": "banner"}, 422, None),
        ("post", SUBJECT, {"purpose": "x" * 65, "granted": True}, 422, "api.invalid_request"),
        (
            "post",
            "/api/v1/subjects/{unknown}/consents",
            {"purpose": "newsletter", "granted": True},
            404,
            None,
        ),
        ("get", "/api/v1/nowhere", None, 404, "api.not_found"),
        ("post", "/api/v1/nowhere", {"purpose": "newsletter", "granted": False}, 404, "api.not_found"),
        ("post", "/api/v2/subjects", "{not json", 404, "api.not_found"),
        # Strict JSON types: only true and false are booleans (each of these was read as a withdrawal).
        ("post", SUBJECT, {"purpose": "newsletter", "granted": "no"}, 422, "api.invalid_request"),
        ("post", SUBJECT, {"purpose": "newsletter", "granted": "false"}, 422, "api.invalid_request"),
        ("post", SUBJECT, {"purpose": "newsletter", "granted": 0}, 422, "api.invalid_request"),
        ("post", SUBJECT, {"purpose": "promotions", "granted": 1}, 422, "api.invalid_request"),
        ("post", SUBJECT, {"purpose": "promotions", "granted": "yes"}, 422, "api.invalid_request"),
        ("post", SUBJECT, {"purpose": "newsletter", "granted": None}, 422, "api.invalid_request"),
        ("post", SUBJECT, {"purpose": "promotions", "granted": True, "evidence": 5}, 422, None),
        ("post", SUBJECT, ["newsletter", False], 422, "api.invalid_request"),
        # Only the API may be the source of an API change; unknown fields are refused.
        ("post", SUBJECT, {"purpose": "promotions", "granted": True, "source": "staff"}, 422, None),
        ("post", SUBJECT, {"purpose": "newsletter", "granted": False, "source": "email_link"}, 422, None),
        ("post", SUBJECT, {"purpose": "promotions", "granted": True, "actor": "subject:x"}, 422, None),
        # A 3 MB body is refused unread; wrong methods are problems too.
        ("post", SUBJECT, BIG, 413, "api.body_too_large"),
        ("put", SUBJECT, {"purpose": "newsletter", "granted": False}, 405, "api.method_not_allowed"),
        ("delete", SUBJECT + "/newsletter", None, 405, "api.method_not_allowed"),
        ("post", SUBJECT + "/newsletter", {"granted": False}, 405, "api.method_not_allowed"),
    ],
)
def test_bad_input_is_a_4xx_problem_and_changes_nothing(api, method, path, body, status, code) -> None:
    _key, client = api
    user = user_create(email="b@example.fr", password=PASSWORD, name="B", birth_date=None)
    consent_set(subject_id=user.subject_id, purpose="newsletter", granted=True, source="subscribe_form")
    url = path.format(subject=user.subject_id, unknown=uuid.uuid4())
    before = (
        list(Entry.objects.order_by("seq").values_list("seq", flat=True)),
        list(
            ConsentState.objects.order_by("subject_id", "purpose").values_list(
                "subject_id", "purpose", "granted", "source", "entry_seq"
            )
        ),
        ConsentEvidence.objects.count(),
    )
    if body is None:
        response = getattr(client, method)(url)
    else:
        data = body if isinstance(body, str) else json.dumps(body)
        response = getattr(client, method)(url, data, content_type="application/json")
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["code"] == (code or problem["code"])
    assert problem["type"] == f"urn:pacte:error:{problem['code']}" and problem["title"]
    if status == 422 and code == "api.invalid_request":
        assert problem["errors"] and all(set(e) == {"loc", "msg", "type"} for e in problem["errors"])
    after = (
        list(Entry.objects.order_by("seq").values_list("seq", flat=True)),
        list(
            ConsentState.objects.order_by("subject_id", "purpose").values_list(
                "subject_id", "purpose", "granted", "source", "entry_seq"
            )
        ),
        ConsentEvidence.objects.count(),
    )
    assert after == before


def test_a_wrong_method_names_the_allowed_ones(api) -> None:
    _key, client = api
    response = client.patch(
        f"/api/v1/subjects/{uuid.uuid4()}/consents", "{}", content_type="application/json"
    )
    assert response.status_code == 405 and set(response["Allow"].split(", ")) == {"GET", "POST"}
    assert response.json()["code"] == "api.method_not_allowed"


def test_problem_titles_are_in_the_callers_language(api) -> None:
    _key, client = api
    url = f"/api/v1/subjects/{uuid.uuid4()}/consents"
    french = Client(HTTP_ACCEPT_LANGUAGE="fr").get(url)
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get(url)
    assert french.json()["title"] == "Une clé d’API valide est requise (Authorization: Bearer <clé>)."
    assert english.json()["title"] == "A valid API key is required (Authorization: Bearer <key>)."
    assert french.json()["code"] == english.json()["code"] == "api.unauthorized"


def test_every_timestamp_has_the_same_explicit_utc_form_in_every_endpoint(api) -> None:
    _key, client = api
    user = user_create(email="t@example.fr", password=PASSWORD, name="T", birth_date=None)
    base = f"/api/v1/subjects/{user.subject_id}/consents"
    posted = client.post(base, json.dumps({"purpose": "newsletter", "granted": True}), "application/json")
    state = ConsentState.objects.get(subject_id=user.subject_id, purpose="newsletter")
    listed = {row["purpose"]: row for row in client.get(base).json()}
    one = client.get(f"{base}/newsletter").json()
    stamps = {posted.json()["changed_at"], listed["newsletter"]["changed_at"], one["changed_at"]}
    assert len(stamps) == 1  # the same string from the three endpoints
    stamp = stamps.pop()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp), stamp
    moment = datetime.datetime.fromisoformat(stamp)
    assert moment.utcoffset() == datetime.timedelta(0) and moment == state.changed_at
    # Its form is the one of the ledger receipt's entry time.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", posted.json()["receipt"]["entry"]["time"])
    never = client.get(f"{base}/promotions").json()
    assert never["changed_at"] is None and listed["promotions"]["changed_at"] is None
    # The spec says so too.
    spec = Client().get("/api/v1/openapi.json").json()
    out = spec["components"]["schemas"]["ConsentOut"]["properties"]["changed_at"]
    assert {"type": "string", "format": "date-time"} in [
        {k: v for k, v in option.items() if k in ("type", "format")} for option in out["anyOf"]
    ]


def _errors_against(spec: dict, schema: dict, value: object, where: str = "$") -> list[str]:
    """Check ``value`` against the subset of JSON Schema the OpenAPI document uses; return the faults."""
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        options = [_errors_against(spec, option, value, where) for option in schema["anyOf"]]
        return [] if any(not faults for faults in options) else [f"{where}: matches no anyOf option"]
    types = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}
    kind = schema.get("type")
    if kind == "null":
        return [] if value is None else [f"{where}: not null"]
    if kind in types and (not isinstance(value, types[kind]) or (kind == "integer" and value is True)):
        return [f"{where}: not {kind}"]
    faults = []
    if kind == "integer" and not schema.get("minimum", value) <= value <= schema.get("maximum", value):
        faults.append(f"{where}: out of range")
    if isinstance(value, dict):
        faults += [f"{where}.{name}: missing" for name in schema.get("required", []) if name not in value]
        for name, item in value.items():
            if name not in schema.get("properties", {}):
                faults.append(f"{where}.{name}: not declared")
            else:
                faults += _errors_against(spec, schema["properties"][name], item, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            faults += _errors_against(spec, schema["items"], item, f"{where}[{index}]")
    return faults


def test_the_openapi_document_declares_every_error_and_real_errors_match_it(api) -> None:
    _key, client = api
    spec = Client().get("/api/v1/openapi.json").json()
    problem_schema = spec["components"]["schemas"]["Problem"]
    assert set(problem_schema["required"]) == {"type", "title", "status", "code"}
    assert {"detail", "errors"} <= set(problem_schema["properties"])
    some = str(subject_create().pk)
    erased = str(subject_mark_erased(subject=subject_create()).pk)
    unknown = str(uuid.uuid4())
    many, one = "/api/v1/subjects/{subject_id}/consents", "/api/v1/subjects/{subject_id}/consents/{purpose}"
    grant = json.dumps({"purpose": "newsletter", "granted": True})
    anonymous = Client()
    big = {"data": BIG, "content_type": "application/json"}
    cases = [  # (operation, how to get the error, status)
        (
            (many, "get"),
            lambda: client.generic("GET", f"/api/v1/subjects/{some}/consents", CONTENT_LENGTH="x"),
            400,
        ),
        ((many, "get"), lambda: anonymous.get(f"/api/v1/subjects/{some}/consents"), 401),
        ((many, "get"), lambda: client.get(f"/api/v1/subjects/{unknown}/consents"), 404),
        ((many, "get"), lambda: client.generic("GET", f"/api/v1/subjects/{some}/consents", **big), 413),
        ((many, "get"), lambda: client.get("/api/v1/subjects/nope/consents"), 422),
        (
            (one, "get"),
            lambda: client.generic("GET", f"/api/v1/subjects/{some}/consents/newsletter", CONTENT_LENGTH="-"),
            400,
        ),
        ((one, "get"), lambda: anonymous.get(f"/api/v1/subjects/{some}/consents/newsletter"), 401),
        ((one, "get"), lambda: client.get(f"/api/v1/subjects/{some}/consents/resale"), 404),
        (
            (one, "get"),
            lambda: client.generic("GET", f"/api/v1/subjects/{some}/consents/newsletter", **big),
            413,
        ),
        ((one, "get"), lambda: client.get(f"/api/v1/subjects/{some}/consents/account_management"), 422),
        (
            (many, "post"),
            lambda: client.post(f"/api/v1/subjects/{some}/consents", "{", "application/json"),
            400,
        ),
        (
            (many, "post"),
            lambda: anonymous.post(f"/api/v1/subjects/{some}/consents", grant, "application/json"),
            401,
        ),
        (
            (many, "post"),
            lambda: client.post(f"/api/v1/subjects/{unknown}/consents", grant, "application/json"),
            404,
        ),
        (
            (many, "post"),
            lambda: client.post(f"/api/v1/subjects/{erased}/consents", grant, "application/json"),
            410,
        ),
        (
            (many, "post"),
            lambda: client.post(f"/api/v1/subjects/{some}/consents", BIG, "application/json"),
            413,
        ),
        (
            (many, "post"),
            lambda: client.post(
                f"/api/v1/subjects/{some}/consents", '{"purpose": 1, "granted": "no"}', "application/json"
            ),
            422,
        ),
    ]
    declared = {
        (path, method): {int(status) for status in operation["responses"] if int(status) >= 400}
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }
    tried: dict[tuple[str, str], set[int]] = {}
    before = Entry.objects.count()
    for operation, call, status in cases:
        response = call()
        assert response.status_code == status, (operation, response.content)
        declared_response = spec["paths"][operation[0]][operation[1]]["responses"][str(status)]
        assert list(declared_response["content"]) == ["application/problem+json"]
        assert response["Content-Type"] == "application/problem+json"
        schema = declared_response["content"]["application/problem+json"]["schema"]
        assert _errors_against(spec, schema, response.json()) == [], (operation, status, response.json())
        tried.setdefault(operation, set()).add(status)
    assert tried == declared  # every declared error was produced for real, and nothing undeclared
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
    out, err = StringIO(), StringIO()
    call_command("apikey", "create", "crm", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    key = ApiKey.objects.get(name="crm")
    assert secret.startswith(f"pacte_{key.prefix}_") and secret not in repr(list(ApiKey.objects.values()))
    listing = StringIO()
    call_command("apikey", "list", stdout=listing)
    assert f"{key.prefix}  crm" in listing.getvalue() and "active" in listing.getvalue()
    revoked = StringIO()
    call_command("apikey", "revoke", key.prefix, stdout=revoked)
    assert revoked.getvalue().strip() == (
        f"Key {key.prefix} revoked. The revocation is effective immediately on every server process."
    )
    key.refresh_from_db()
    assert key.revoked_at is not None
    with pytest.raises(CommandError, match="no API key"):
        call_command("apikey", "revoke", "zzzz")


def test_authentication_is_one_read_that_sees_a_revocation_at_once(django_assert_num_queries) -> None:
    key, secret = apikey_create(name="erp")
    with django_assert_num_queries(1):
        assert apikey_authenticate(secret=secret).pk == key.pk
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())  # revoked by any means
    with django_assert_num_queries(1):
        assert apikey_authenticate(secret=secret) is None
    with django_assert_num_queries(1):
        assert apikey_authenticate(secret="pacte_nope_nope") is None


def test_an_unexpected_failure_is_a_500_problem_and_its_log_names_no_subject(
    api, monkeypatch, caplog
) -> None:
    _key, client = api
    user = user_create(email="f@example.fr", password=PASSWORD, name="F", birth_date=None)

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pacte.consent.selectors, "consent_list", broken)
    response = client.get(f"/api/v1/subjects/{user.subject_id}/consents")
    assert response.status_code == 500 and response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "api.internal_error"
    assert "API request failed: GET" in caplog.text and str(user.subject_id) not in caplog.text
