"""Every allauth page, and the 403, 404 and 500 pages, wear Pacte's layout in the visitor's language."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from django.views.defaults import server_error

from pacte.accounts.services import user_create
from pacte.core.tests.test_every_url import every_path

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"
SKIP_LINK = {"fr": "Aller au contenu", "en": "Skip to content"}
# What allauth's own pages show and Pacte's never do.
STOCK = ("Menu:", "Messages:", "Remember Me", "Sign In", "Sign Up", 'class="helptext"', "<p>\n    <label")


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _in_pacte_layout(html: str, lang: str) -> bool:
    return (
        f'<html lang="{lang}">' in html
        and f'<a class="skip-link" href="#main">{SKIP_LINK[lang]}</a>' in html
        and '<footer class="site-footer">' in html
        and '<link rel="stylesheet" href="/static/pacte/pacte.css">' in html
    )


def _customer(lang: str) -> Client:
    user_create(
        email=f"dominique.{lang}@example.fr", password=PASSWORD, name="Dominique Bernard", birth_date=None
    )
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    response = client.post(
        "/accounts/login/", {"login": f"dominique.{lang}@example.fr", "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_allauth_page_wears_pacte_layout_in_the_page_language(lang) -> None:
    paths = [path for path in every_path() if path.startswith("/accounts/")]
    assert len(paths) > 30 and "/accounts/login/" in paths and "/accounts/2fa/" in paths
    checked, failures = 0, []
    for who, client in (("visitor", Client(HTTP_ACCEPT_LANGUAGE=lang)), ("customer", _customer(lang))):
        for path in paths:
            response = client.get(path, follow=True)
            if not response.get("Content-Type", "").startswith("text/html") or not response.content:
                continue  # e.g. 405 to a GET of a POST-only endpoint: no page at all
            html = response.content.decode()
            checked += 1
            if not _in_pacte_layout(html, lang):
                failures.append((who, path, response.status_code, "layout"))
            failures += [(who, path, response.status_code, stock) for stock in STOCK if stock in html]
    assert failures == []
    assert checked > 60


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["<h1>Sign in</h1>", "Keep me signed in", ">Sign in</button>", "Forgot your password?"]),
        ("fr", ["<h1>Se connecter</h1>", "Rester connecté sur cet appareil", ">Se connecter</button>"]),
    ],
)
def test_the_sign_in_page_reads_as_pacte(lang, words) -> None:
    html = Client(HTTP_ACCEPT_LANGUAGE=lang).get("/accounts/login/").content.decode()
    assert _in_pacte_layout(html, lang)
    for word in words:
        assert word in html, word
    # Labels, not placeholders, as on Pacte's other forms.
    assert "placeholder=" not in html and '<label for="id_login">' in html
    assert '<div class="check">' in html  # the "keep me signed in" box, as Pacte shows a checkbox


def test_a_refused_sign_in_is_explained_in_pacte_form() -> None:
    user_create(email="dominique@example.fr", password=PASSWORD, name="Dominique Bernard", birth_date=None)
    html = (
        Client(HTTP_ACCEPT_LANGUAGE="en")
        .post("/accounts/login/", {"login": "dominique@example.fr", "password": "not it"})
        .content.decode()
    )
    assert re.search(r'<div class="error" role="alert">The email address and/or password you specified', html)


@pytest.mark.parametrize(("lang", "title"), [("fr", "Page non trouvée"), ("en", "Page not found")])
def test_a_missing_page_is_a_pacte_page(lang, title) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE=lang).get("/there-is-no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert _in_pacte_layout(html, lang) and f"<h1>{title}</h1>" in html


@pytest.mark.urls("pacte.accounts.tests.urls_errors")
@pytest.mark.parametrize(("lang", "title"), [("fr", "Accès refusé"), ("en", "Access refused")])
def test_a_refused_page_is_a_pacte_page(lang, title) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE=lang).get("/test-refused/")
    html = response.content.decode()
    assert response.status_code == 403
    assert _in_pacte_layout(html, lang) and f"<h1>{title}</h1>" in html


def _static_error_page(html: str) -> None:
    assert '<a class="skip-link" href="#main">' in html and '<footer class="site-footer">' in html
    assert '<link rel="stylesheet" href="/static/pacte/pacte.css">' in html
    assert "Une erreur est survenue" in html and "Something went wrong" in html  # language unknown: both


@pytest.mark.urls("pacte.accounts.tests.urls_errors")
def test_a_server_error_is_a_pacte_page_in_both_languages() -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False).get("/test-boom/")
    assert response.status_code == 500
    _static_error_page(response.content.decode())


def test_the_server_error_page_needs_no_request_context(settings) -> None:
    # Even with every context processor broken, the 500 page renders: it uses none of them.
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "OPTIONS": {"context_processors": ["no.such.processor"]}},
    ]
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    _static_error_page(response.content.decode())


@pytest.mark.browser
@pytest.mark.django_db(databases=DBS, transaction=True)
def test_the_sign_in_page_in_a_browser(page, live_server, artifacts_dir) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.get_by_role("heading", name="Sign in", exact=True).is_visible()
    assert page.get_by_label("Keep me signed in").is_visible()
    assert page.get_by_role("button", name="Sign in", exact=True).is_visible()
    assert page.locator("footer.site-footer").is_visible()
    page.screenshot(path=str(artifacts_dir / "sign-in-en.png"), full_page=True)
    page.locator(".lang-switch").get_by_role("button", name="FR").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Se connecter", exact=True).is_visible()
    page.screenshot(path=str(artifacts_dir / "sign-in-fr.png"), full_page=True)
    assert page.foreign_requests == []  # type: ignore[attr-defined]
