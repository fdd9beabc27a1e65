"""Items of interest: recorded on the product page and by "Save for later" under site_improvement only,
shown and deletable in My account, stopped and deleted by an objection (a rights request), counted for
staff without identities (small counts suppressed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pacte.commerce import interests
from pacte.commerce.models import Interest, InterestObjection
from pacte.commerce.tests.helpers import DBS, customer_make, product_make, staff_client
from pacte.ledger.models import Entry
from pacte.rights.models import RightsRequest
from pacte.subjects.services import subject_restrict

pytestmark = pytest.mark.django_db(databases=DBS)
POLICIES = Path(__file__).resolve().parents[4] / "policies"


def _client(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def audit():
    return product_make("audit", 49000, name_en="Site audit")


def test_a_product_page_records_a_view_and_save_for_later_a_saved_item(audit) -> None:
    user = customer_make()
    client = _client(user)
    page = client.get("/shop/audit/").content.decode()
    assert 'value="save"' in page and "Save for later" in page
    client.get("/shop/audit/")  # seen again: one row, its time moved
    assert list(Interest.objects.values_list("kind", flat=True)) == ["viewed"]
    response = client.post("/account/interests/", {"action": "save", "product": str(audit.pk)})
    assert response.status_code == 302
    assert sorted(Interest.objects.values_list("kind", flat=True)) == ["saved", "viewed"]
    assert "Saved for later." in client.get("/shop/audit/").content.decode()
    mine = client.get("/account/interests/").content.decode()
    assert "Site audit" in mine and "Saved for later" in mine and "I object" in mine


def test_visitors_leave_no_trace_and_bad_products_are_refused(audit) -> None:
    _client().get("/shop/audit/")
    assert not Interest.objects.exists()
    user = customer_make()
    for bad in ("", "abc", "999999", "-1"):
        _client(user).post("/account/interests/", {"action": "save", "product": bad})
    assert not Interest.objects.exists()


def test_one_item_or_all_can_be_deleted(audit) -> None:
    guide = product_make("guide", 1200, "5.5")
    user = customer_make()
    other = customer_make("paul@example.fr", name="Paul")
    client = _client(user)
    client.get("/shop/audit/")
    client.get("/shop/guide/")
    _client(other).get("/shop/guide/")
    first = Interest.objects.get(subject_id=user.subject_id, product=audit)
    client.post("/account/interests/", {"action": "delete", "interest": str(first.pk)})
    assert list(Interest.objects.filter(subject_id=user.subject_id).values_list("product", flat=True)) == [
        guide.pk
    ]
    # Someone else's item is not reachable.
    theirs = Interest.objects.get(subject_id=other.subject_id)
    client.post("/account/interests/", {"action": "delete", "interest": str(theirs.pk)})
    assert Interest.objects.filter(pk=theirs.pk).exists()
    client.post("/account/interests/", {"action": "delete_all"})
    assert not Interest.objects.filter(subject_id=user.subject_id).exists()
    assert Interest.objects.filter(subject_id=other.subject_id).count() == 1


def test_an_objection_deletes_them_stops_recording_and_is_a_rights_request(audit) -> None:
    user = customer_make()
    client = _client(user)
    client.get("/shop/audit/")
    client.post("/account/interests/", {"action": "save", "product": str(audit.pk)})
    response = client.post("/account/interests/", {"action": "object"})
    assert response.status_code == 302
    assert not Interest.objects.exists()
    assert InterestObjection.objects.get().purpose == "site_improvement"
    request = RightsRequest.objects.get()
    assert (request.kind, request.channel, request.status) == ("objection", "portal", "done")
    assert str(request.details) == "site_improvement: commerce.interests"
    steps = [e.payload["step"] for e in Entry.objects.filter(type="rights.step").order_by("seq")]
    assert steps == ["received", "identity_verified", "objection_applied", "done"]
    # From now on nothing is recorded, and the product page offers no "Save for later".
    page = client.get("/shop/audit/").content.decode()
    client.post("/account/interests/", {"action": "save", "product": str(audit.pk)})
    assert not Interest.objects.exists() and 'value="save"' not in page
    assert "You objected" in client.get("/account/interests/").content.decode()
    # Objecting again records no second request.
    client.post("/account/interests/", {"action": "object"})
    assert RightsRequest.objects.count() == 1


def test_nothing_is_recorded_while_processing_is_restricted(audit) -> None:
    user = customer_make()
    subject_restrict(subject_id=user.subject_id, restricted=True)
    _client(user).get("/shop/audit/")
    assert not Interest.objects.exists()


def test_nothing_is_recorded_under_a_policy_without_the_purpose(settings, audit) -> None:
    settings.PACTE_POLICY_FILE = str(POLICIES / "aplusc.toml")
    user = customer_make()
    client = _client(user)
    assert "Save for later" not in client.get("/shop/audit/").content.decode()
    client.post("/account/interests/", {"action": "save", "product": str(audit.pk)})
    assert not Interest.objects.exists()
    assert "does not record the items" in client.get("/account/interests/").content.decode()


def test_popular_items_are_counts_without_identities_and_small_counts_are_hidden(settings, audit) -> None:
    guide = product_make("guide", 1200, "5.5", name_en="Digital guide")
    rare = product_make("rare", 500, name_en="Rare thing")
    customers = [customer_make(f"c{i}@example.fr", name=f"C{i}") for i in range(6)]
    for user in customers:
        interests.interest_record(subject_id=user.subject_id, product=audit, kind="viewed")
    for user in customers[:5]:
        interests.interest_record(subject_id=user.subject_id, product=guide, kind="saved")
    for user in customers[:2]:
        interests.interest_record(subject_id=user.subject_id, product=rare, kind="viewed")
    with CaptureQueriesContext(connection) as queries:
        items = interests.popular_items(min_count=5)
    assert [(i.product.slug, i.viewers, i.savers) for i in items] == [("audit", 6, None), ("guide", None, 5)]
    assert len(queries) == 2  # the aggregate, then the products
    sql = queries[0]["sql"].lower().replace('"', "")
    # Grouped by product alone: subjects appear only inside count(distinct …), never as a row.
    select = sql.split(" from ")[0]
    assert " group by 1 " in sql and select.count("subject_id") == select.count(
        "count(distinct commerce_interest.subject_id)"
    )
    page = staff_client().get("/staff/popular-items/").content.decode()
    assert "Site audit" in page and "Digital guide" in page and "Rare thing" not in page
    assert "fewer than 5" in page and "C0" not in page
    assert _client(customers[0]).get("/staff/popular-items/").status_code == 302  # staff only


def test_bad_actions_change_nothing(audit) -> None:
    user = customer_make()
    client = _client(user)
    client.get("/shop/audit/")
    response = client.post("/account/interests/", {"action": "drop table"})
    assert response.status_code == 302 and Interest.objects.count() == 1
