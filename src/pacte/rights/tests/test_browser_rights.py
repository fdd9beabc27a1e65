"""Journeys: a customer downloads their data and deletes their account; staff record a letter."""

from __future__ import annotations

import datetime
import io
import json
import time
import zipfile

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

from pacte.accounts.services import user_create
from pacte.rights import models
from pacte.rights.flows.erasure import erasure_run
from pacte.rights.flows.export import export_build
from pacte.rights.models import RightsRequest

DBS = ["default", "keys", "telemetry"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases=DBS, transaction=True)]
PASSWORD = "une longue phrase de passe"


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    banner = page.get_by_role("region", name="Your choice about cookies")
    if banner.count():
        banner.get_by_role("button", name="Refuse all").click()
        banner.wait_for(state="detached")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()


def test_a_customer_downloads_their_data_then_deletes_their_account(
    page, live_server, artifacts_dir, settings
) -> None:
    # Tasks wait for a worker here, so that the page shows the file being prepared.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    user = user_create(email="hugo@example.fr", password=PASSWORD, name="Hugo Lambert", birth_date=None)
    base = live_server.url
    _sign_in(page, base, "hugo@example.fr")
    page.get_by_role("navigation", name="My account").get_by_role("link", name="Download my data").click()
    page.get_by_role("button", name="Prepare my file").click()
    page.wait_for_load_state()
    assert page.get_by_text("Preparing your file…").is_visible()
    assert page.locator("progress").is_visible()
    page.screenshot(path=str(artifacts_dir / "download-my-data-progress-en.png"))
    export_build(request=RightsRequest.objects.get(kind="access"))  # what the worker does
    page.get_by_text("Your file is ready.").wait_for(timeout=10_000)  # the page refreshes itself
    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data (ZIP)").click()
    with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as archive:
        data = json.loads(archive.read("data.json"))
    assert data["records"]["account"][0]["name"] == "Hugo Lambert"

    page.goto(f"{base}/account/")
    page.get_by_role("navigation", name="My account").get_by_role("link", name="Delete my account").click()
    page.get_by_label("Your current password").fill(PASSWORD)
    page.get_by_label("Type DELETE to confirm").fill("delete")
    page.get_by_role("button", name="Delete my account for good").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your account is being deleted").is_visible()
    erasure_run(request=RightsRequest.objects.get(kind="erasure"))  # what the worker does
    user.subject.refresh_from_db()
    assert user.subject.erased_at is not None
    _sign_in(page, base, "hugo@example.fr")
    assert "/accounts/login/" in page.url  # nobody to sign in as any more


def test_staff_record_a_letter_and_see_it_overdue_a_month_later(page, live_server, monkeypatch) -> None:
    customer = user_create(email="ines@example.fr", password=PASSWORD, name="Inès Morel", birth_date=None)
    staff = user_create(
        email="juriste@operator.example",
        password=PASSWORD,
        name="Juriste",
        birth_date=None,
        is_staff=True,
        is_superuser=True,
    )
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    base = live_server.url
    _sign_in(page, base, "juriste@operator.example")

    if time.time() % 30 > 25:  # never type a code in the last seconds of its 30-second period
        time.sleep(30 - time.time() % 30 + 0.5)
    page.locator("input[name=code]").fill(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()

    page.goto(f"{base}/admin/rights/rightsrequest/add/")
    page.get_by_label("Subject").fill(str(customer.subject_id))
    page.get_by_label("Right").select_option("access")
    page.get_by_label("Received by").select_option("post")
    page.get_by_label("How identity was checked").select_option("postal_match")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    request = RightsRequest.objects.get()
    assert request.channel == "post" and request.recorded_by == f"staff:{staff.pk}"
    row = page.locator("#result_list tbody tr").first
    assert row.locator("td.field-overdue img").get_attribute("alt") == "False"

    real_now = models.now
    monkeypatch.setattr(models, "now", lambda: real_now() + datetime.timedelta(days=32))
    page.reload()
    assert (
        page.locator("#result_list tbody tr").first.locator("td.field-overdue img").get_attribute("alt")
        == "True"
    )
