"""One read model of consent: API list, API single read, portal, check and export all say the same."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest
from django.test import Client

from pacte.accounts.services import user_create
from pacte.api.services import apikey_create
from pacte.consent.selectors import consent_check, consent_get
from pacte.consent.services import consent_set
from pacte.rights import exports
from pacte.rights import services as rights

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"


def _everywhere(user, api: Client, portal: Client, purpose: str) -> dict[str, tuple[bool, bool]]:
    """Read (granted, restricted) of ``purpose`` through every reader of consent."""
    base = f"/api/v1/subjects/{user.subject_id}/consents"
    listed = {row["purpose"]: row for row in api.get(base).json()}[purpose]
    single = api.get(f"{base}/{purpose}").json()
    page = portal.get("/account/consents/").content.decode()
    row = page.split(f'id="consent-{purpose}"')[1].split("</tr>")[0]
    out = io.BytesIO()
    exports.export_write(subject=user.subject, out=out, lang="en")
    data = json.loads(zipfile.ZipFile(out).read("data.json"))
    (exported,) = [c for c in data["consents"] if c["purpose"] == purpose]
    restricted_text = "Not agreed (processing restricted)" in row
    return {
        "api list": (listed["granted"], listed["restricted"]),
        "api single": (single["granted"], single["restricted"]),
        "portal": ('data-granted="1"' in row, 'data-restricted="1"' in row and restricted_text),
        "check": (consent_check(subject_id=user.subject_id, purpose=purpose), restricted_text),
        "export": (exported["granted"], exported["restricted"]),
    }


def test_a_restricted_subject_reads_not_granted_everywhere_and_lifting_restores_the_choice() -> None:
    user = user_create(email="rita@example.fr", password=PASSWORD, name="Rita Lopez", birth_date=None)
    consent_set(subject_id=user.subject_id, purpose="newsletter", granted=True, source="portal")
    _key, secret = apikey_create(name="crm")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    portal = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert (
        portal.post("/accounts/login/", {"login": "rita@example.fr", "password": PASSWORD}).status_code == 302
    )
    every = ["api list", "api single", "portal", "check", "export"]
    assert _everywhere(user, api, portal, "newsletter") == dict.fromkeys(every, (True, False))

    restriction = rights.request_create(
        subject=user.subject, kind="restriction", channel="portal", identity_check="signed_in"
    )
    rights.restriction_apply(request=restriction)
    assert _everywhere(user, api, portal, "newsletter") == dict.fromkeys(every, (False, True))
    # A purpose never asked reads the same way while restricted.
    assert _everywhere(user, api, portal, "promotions") == dict.fromkeys(every, (False, True))
    # The API's answer to a change follows the same rule.
    change = api.post(
        f"/api/v1/subjects/{user.subject_id}/consents",
        json.dumps({"purpose": "newsletter", "granted": True}),
        content_type="application/json",
    ).json()
    assert (change["granted"], change["restricted"]) == (False, True)
    # Withdrawal stays possible while restricted: the portal offers it for the kept choice.
    page = portal.get("/account/consents/").content.decode()
    assert 'aria-label="Withdraw: Newsletter"' in page.split('id="consent-newsletter"')[1].split("</tr>")[0]

    rights.restriction_apply(request=restriction, lift=True)
    assert _everywhere(user, api, portal, "newsletter") == dict.fromkeys(every, (True, False))


def test_the_check_and_the_single_read_are_one_query_restriction_included(django_assert_num_queries) -> None:
    user = user_create(email="ines@example.fr", password=PASSWORD, name="Inès", birth_date=None)
    consent_set(subject_id=user.subject_id, purpose="newsletter", granted=True, source="portal")
    with django_assert_num_queries(1):
        assert consent_check(subject_id=user.subject_id, purpose="newsletter") is True
    with django_assert_num_queries(1):
        view = consent_get(subject_id=user.subject_id, purpose="promotions")
    assert view is not None and (view.granted, view.restricted, view.changed_at) == (False, False, None)
    assert consent_get(subject_id=uuid.uuid4(), purpose="newsletter") is None  # no such subject
