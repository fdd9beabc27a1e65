"""Journey: staff A records an authority request, staff B approves it, the customer is told and sees it in
My account, and the public transparency report counts it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib.auth.models import Permission

from pacte.accounts.services import user_create
from pacte.ledger.models import Entry
from pacte.policy.selectors import policy_active
from pacte.sharing.models import AuthorityRequest, AuthorityState

DBS = ["default", "keys", "telemetry"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases=DBS, transaction=True)]
PASSWORD = "une longue phrase de passe"


def _sign_in(page: Any, base: str, email: str, secret: str | None = None) -> None:
    page.goto(f"{base}/accounts/login/")
    banner = page.get_by_role("region", name="Your choice about cookies")
    if banner.count():
        banner.get_by_role("button", name="Refuse all").click()
        banner.wait_for(state="detached")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state()
    if secret is not None:  # staff: the second factor
        if time.time() % 30 > 25:  # never type a code in the last seconds of its 30-second period
            time.sleep(30 - time.time() % 30 + 0.5)
        page.locator("input[name=code]").fill(format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_load_state()


def _staff(email: str, *codenames: str) -> str:
    staff = user_create(email=email, password=PASSWORD, name="Agent", birth_date=None, is_staff=True)
    for codename in codenames:
        staff.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label="sharing")
        )
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    return secret


def test_an_authority_request_from_recording_to_the_customers_account_and_the_report(
    page: Any, chromium: Any, live_server: Any, smtp_server: Any, settings: Any, artifacts_dir: Any
) -> None:
    settings.PACTE_TRANSPARENCY_THRESHOLD = 1
    settings.PACTE_BASE_URL = live_server.url
    customer = user_create(email="ines@example.fr", password=PASSWORD, name="Inès Morel", birth_date=None)
    customer.language = "en"
    customer.save(update_fields=["language"])
    secret_a = _staff("alice@operator.example", "add_authorityrequest", "approve_authorityrequest")
    secret_b = _staff("bruno@operator.example", "approve_authorityrequest")
    base = live_server.url

    # Staff A records the request.
    _sign_in(page, base, "alice@operator.example", secret_a)
    page.goto(f"{base}/staff/authority-requests/")
    page.get_by_role("link", name="Record a request").click()
    page.get_by_label("Authority", exact=True).fill("Tribunal judiciaire de Lyon")
    page.get_by_label("Kind of authority").select_option("judicial")
    page.get_by_label("Legal basis", exact=True).fill("Code de procédure pénale, art. 60-1")
    page.get_by_label("Reference of the request").fill("PV 2026/118")
    page.get_by_label("Received on").fill("2026-03-02")
    page.get_by_label("People concerned", exact=True).fill(str(customer.subject_id))
    page.get_by_label("Name", exact=True).check()
    page.get_by_label("Email address", exact=True).check()
    page.get_by_label("Phone number (not for authorities: will not be disclosed)").check()
    page.get_by_role("button", name="Record the request").click()
    page.wait_for_load_state()
    assert page.locator("#state").inner_text() == "Recorded, waiting for a second person"
    assert page.get_by_text(
        "You recorded this request: another person must approve or reject it."
    ).is_visible()
    assert page.get_by_role("button", name="Approve and disclose").count() == 0
    request = AuthorityRequest.objects.get()
    assert request.categories == ["contact.email", "contact.phone", "identity.name"]

    # Staff B, in a browser of their own, approves it.
    second = chromium.new_context(locale="en-GB")
    page_b = second.new_page()
    _sign_in(page_b, base, "bruno@operator.example", secret_b)
    page_b.goto(f"{base}/staff/authority-requests/{request.pk}/")
    page_b.get_by_role("button", name="Approve and disclose").click()
    page_b.wait_for_load_state()
    assert page_b.locator("#state").inner_text() == "Answered with a disclosure"
    assert page_b.get_by_role("cell", name="Email address, Name").is_visible()  # never the phone number
    page_b.screenshot(path=str(artifacts_dir / "authority-request-approved-en.png"))
    second.close()
    request.refresh_from_db()
    assert request.state == AuthorityState.DISCLOSED and request.approved_by != request.recorded_by
    [entry] = Entry.objects.filter(type="disclosure", subject_id=customer.subject_id)
    assert entry.payload["categories"] == ["contact.email", "identity.name"]

    # The customer got a real mail, and sees the disclosure in My account.
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "ines@example.fr"
    assert mail["Subject"] == "An authority received some of your data"
    assert "Tribunal judiciaire de Lyon" in mail.get_content()
    third = chromium.new_context(locale="en-GB")
    page_c = third.new_page()
    _sign_in(page_c, base, "ines@example.fr")
    page_c.goto(f"{base}/account/")
    page_c.get_by_role("link", name="Who received my data").first.click()
    page_c.wait_for_load_state()
    row = page_c.locator("table tbody tr")
    assert row.count() == 1
    assert policy_active().recipients["authorities"].name in row.inner_text()
    assert "Email address, Name" in row.inner_text()
    third.close()

    # Anyone can see it counted in the transparency report (threshold 1 for this test).
    page.goto(f"{base}/privacy/")
    page.get_by_role("link", name="Transparency report: requests from authorities").click()
    page.wait_for_load_state()
    cells = page.locator("table tbody tr").first.locator("td").all_inner_texts()
    assert cells == ["2026, January to June", "Court or prosecutor", "1", "1", "0"]
    assert page.foreign_requests == []
