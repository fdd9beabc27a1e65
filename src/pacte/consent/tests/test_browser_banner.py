"""The cookie banner and the two-click widgets in a real browser, watching every network request."""

from __future__ import annotations

import re

import pytest

from pacte.accounts.services import user_create
from pacte.consent import banner
from pacte.consent.models import CookieChoice
from pacte.consent.selectors import consent_check

DBS = ["default", "keys", "telemetry"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases=DBS, transaction=True)]
WIDGET_HOSTS = ("www.facebook.com", "code.tidio.co")


def _intercept_widget_hosts(page) -> list[str]:
    """Answer every request to a widget host locally (no internet here) and remember it."""
    seen: list[str] = []

    def answer(route) -> None:
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>widget</p>")

    for host in WIDGET_HOSTS:
        page.route(f"https://{host}/**", answer)
    return seen


def _cookie_names(page) -> set[str]:
    return {cookie["name"] for cookie in page.context.cookies()}


def test_refuse_all_in_one_click_sets_nothing_optional_and_loads_no_widget(
    page, live_server, artifacts_dir
) -> None:
    widget_requests = _intercept_widget_hosts(page)
    page.goto(f"{live_server.url}/")
    banner = page.get_by_role("region", name="Your choice about cookies")
    assert banner.is_visible()
    # The three choices are buttons of the same size: refusing is as easy as accepting.
    boxes = [
        banner.get_by_role(role, name=name).bounding_box()
        for role, name in (("button", "Accept all"), ("button", "Refuse all"), ("link", "Choose"))
    ]
    assert len({(round(b["width"]), round(b["height"])) for b in boxes}) == 1
    page.screenshot(path=str(artifacts_dir / "cookie-banner-en.png"))
    assert widget_requests == []  # the placeholders are on the page, nothing came from the widget hosts
    assert page.get_by_role("button", name="Load Facebook Like button").is_visible()

    banner.get_by_role("button", name="Refuse all").click()
    banner.wait_for(state="detached")  # with JavaScript the choice is sent in the background
    assert _cookie_names(page) <= {"csrftoken", "pacte_consent", "sessionid", "django_language"}
    page.reload()
    assert widget_requests == [] and page.foreign_requests == []  # type: ignore[attr-defined]
    assert CookieChoice.objects.get().choices == {"live_chat": False, "social_widgets": False}


def test_accept_all_loads_the_widgets_only_after_consent_and_withdrawing_deletes_cookies(
    page, live_server, monkeypatch
) -> None:
    widget_requests = _intercept_widget_hosts(page)
    page.goto(f"{live_server.url}/")
    assert widget_requests == []
    page.get_by_role("button", name="Accept all").click()
    page.locator("iframe").first.wait_for()  # the page reloads with the widgets in place
    page.wait_for_timeout(300)
    assert any("www.facebook.com/plugins/like.php" in url for url in widget_requests)
    assert any("code.tidio.co" in url for url in widget_requests)
    # Each widget its own embed: the Share button is Facebook's share plugin, Tidio loads the policy's key.
    assert any("www.facebook.com/plugins/share_button.php" in url for url in widget_requests)
    assert "https://code.tidio.co/plusuite0public0key0to0replace00.js" in widget_requests
    choice = CookieChoice.objects.get()
    assert choice.choices == {"live_chat": True, "social_widgets": True}

    # A cookie of an accepted purpose on our own domain (as a widget script would set it)…
    page.context.add_cookies([{"name": "fr", "value": "1", "url": live_server.url}])
    # …is deleted as soon as the purpose is withdrawn from "Cookie settings" in the footer.
    page.get_by_role("link", name="Cookie settings").click()
    page.get_by_label("Social media buttons").uncheck()
    page.get_by_role("button", name="Save my choices").click()
    page.wait_for_load_state()
    assert "fr" not in _cookie_names(page)
    assert CookieChoice.objects.filter(consent_id=choice.consent_id).count() == 2  # same browser, new proof
    widget_requests.clear()
    page.goto(f"{live_server.url}/")
    page.wait_for_timeout(300)
    assert not any("facebook" in url for url in widget_requests)
    assert page.get_by_role("button", name="Load Facebook Like button").is_visible()

    # Six months later the banner asks again.

    real_now = banner.now
    monkeypatch.setattr(banner, "now", lambda: real_now() + 181 * 24 * 3600)
    page.reload()
    assert page.get_by_role("region", name="Your choice about cookies").is_visible()


def test_the_two_click_placeholder_loads_one_widget_after_its_click(page, live_server) -> None:
    widget_requests = _intercept_widget_hosts(page)
    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="Load Tidio chat").click()
    page.wait_for_load_state()
    page.wait_for_timeout(300)
    assert any("code.tidio.co" in url for url in widget_requests)
    assert not any("facebook" in url for url in widget_requests)


def test_the_banner_in_french_and_without_javascript(chromium, live_server, artifacts_dir) -> None:
    context = chromium.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    banner = page.get_by_role("region", name="Votre choix sur les cookies")
    assert banner.get_by_role("button", name="Tout refuser").is_visible()
    page.screenshot(path=str(artifacts_dir / "cookie-banner-fr.png"))
    banner.get_by_role("link", name="Choisir").click()
    page.get_by_label("Chat d’assistance en direct").check()
    page.get_by_role("button", name="Enregistrer mes choix").click()
    page.wait_for_load_state()
    assert page.get_by_text("Vos choix de cookies sont enregistrés.").is_visible()
    assert not page.get_by_role("region", name="Votre choix sur les cookies").is_visible()
    assert CookieChoice.objects.get().choices == {"live_chat": True, "social_widgets": False}
    context.close()


def test_my_consents_in_the_portal(page, live_server, artifacts_dir) -> None:
    user = user_create(
        email="iris@example.fr", password="une phrase de passe", name="Iris Blanc", birth_date=None
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Refuse all").click()
    page.get_by_label("Email").fill("iris@example.fr")
    page.get_by_label("Password").fill("une phrase de passe")
    page.get_by_role("button", name=re.compile(r"^Sign in$", re.IGNORECASE)).click()
    page.get_by_role("navigation", name="My account").get_by_role("link", name="My consents").click()
    page.get_by_role("button", name="Agree: Newsletter").click()
    page.wait_for_load_state()
    assert page.get_by_text("Your consent is recorded.").is_visible()
    assert consent_check(subject_id=user.subject_id, purpose="newsletter")
    page.screenshot(path=str(artifacts_dir / "my-consents-en.png"), full_page=True)
    page.get_by_role("button", name="Withdraw: Newsletter").click()
    page.wait_for_load_state()
    assert not consent_check(subject_id=user.subject_id, purpose="newsletter")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the proof of my consents").click()
    assert download.value.suggested_filename == "consent-receipts.json"
