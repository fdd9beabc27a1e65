"""Journey: from the sign-up checkbox to the terms of use, in English then in French, and back."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_reads_the_terms_from_the_signup_checkbox(page, live_server, artifacts_dir) -> None:
    page.goto(f"{live_server.url}/accounts/signup/")
    checkbox = page.get_by_label("I accept the terms of use and have read the privacy notice")
    assert checkbox.is_visible() and not checkbox.is_checked()
    page.get_by_role("link", name="terms of use", exact=True).click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/terms/"
    assert page.get_by_role("heading", name="PluSuite.com terms of use").is_visible()
    assert page.get_by_text(
        "Upturn will create a PayPal Express Checkout account on your behalf"
    ).is_visible()
    page.get_by_role("link", name="Payment gateways").click()  # the table of contents
    assert page.url.endswith("/terms/#terms-2")
    page.screenshot(path=str(artifacts_dir / "terms-en.png"), full_page=True)

    page.get_by_role("button", name="FR").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="Conditions d’utilisation de PluSuite.com").is_visible()
    assert page.get_by_text("Upturn créera un compte PayPal Express Checkout en votre nom").is_visible()
    page.screenshot(path=str(artifacts_dir / "terms-fr.png"), full_page=True)

    page.get_by_role("contentinfo").get_by_role("link", name="Politique de confidentialité").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Qui nous sommes").is_visible()
    page.get_by_role("contentinfo").get_by_role("link", name="Conditions d’utilisation").click()
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/terms/"
    assert page.foreign_requests == []  # type: ignore[attr-defined]
