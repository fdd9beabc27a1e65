"""Journey: a visitor reads the notice in French and in English and browses the version archive."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_visitor_reads_the_notice_in_both_languages_and_the_archive(page, live_server, artifacts_dir) -> None:
    # The browser says en-GB: the notice follows Accept-Language.
    page.goto(f"{live_server.url}/privacy/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Who we are").is_visible()
    assert page.get_by_text("We never sell or rent your personal data").is_visible()
    page.screenshot(path=str(artifacts_dir / "privacy-notice-en.png"), full_page=True)

    # The visible FR/EN switch works without JavaScript: a form post that sets the language cookie.
    page.get_by_role("button", name="FR").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("heading", name="Qui nous sommes").is_visible()
    assert page.get_by_role("heading", name="Vos droits et comment les exercer").is_visible()
    page.screenshot(path=str(artifacts_dir / "privacy-notice-fr.png"), full_page=True)
    page.get_by_role("button", name="EN").click()
    page.wait_for_load_state()

    page.get_by_role("link", name="Every earlier version").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Every version of the privacy notice").is_visible()
    page.get_by_role("link", name="Version 1").click()
    page.wait_for_load_state()
    assert page.get_by_text("Version 1, in force since").is_visible()
    assert page.foreign_requests == []  # type: ignore[attr-defined]
