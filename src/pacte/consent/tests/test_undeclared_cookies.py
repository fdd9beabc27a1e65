"""Every cookie Pacte sets is one the policy declares; an undeclared one fails loudly (logged in production)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory

from pacte.consent.middleware import UndeclaredCookieError, UndeclaredCookieMiddleware
from pacte.consent.selectors import cookie_names_declared, subject_purpose_list
from pacte.core.tests.test_every_url import every_path

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
POLICIES = Path(__file__).resolve().parents[4] / "policies"
PASSWORD = "correct horse battery 42"
MIDDLEWARE = "pacte.consent.middleware.UndeclaredCookieMiddleware"
COOKIE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"


def _set_cookie_names(response: HttpResponse) -> set[str]:
    """Every name in the response's Set-Cookie headers (a deletion included)."""
    return set(response.cookies)


def _walk(client: Client, paths: list[str], seen: dict[str, set[str]]) -> None:
    for path in paths:
        response = client.get(path)
        assert response.status_code < 500, path
        for name in _set_cookie_names(response):
            seen.setdefault(name, set()).add(f"GET {path}")


def _post(client: Client, path: str, data: dict, seen: dict[str, set[str]]) -> HttpResponse:
    response = client.post(path, data)
    assert response.status_code < 400, (path, response.status_code)
    for name in _set_cookie_names(response):
        seen.setdefault(name, set()).add(f"POST {path}")
    return response


@pytest.mark.parametrize("policy", ["plusuite.toml", "aplusc.toml"])
def test_every_public_and_portal_page_sets_only_cookies_the_policy_declares(settings, policy) -> None:
    settings.PACTE_POLICY_FILE = str(POLICIES / policy)
    cache.clear()  # rate limits of earlier tests
    paths = [
        path
        for path in every_path()
        if not path.startswith(("/admin/", "/staff/")) and not path.endswith("/logout/")
    ]
    assert "/account/consents/" in paths and "/accounts/signup/" in paths and "/cookies/" in paths
    purpose = subject_purpose_list()[0][0]
    seen: dict[str, set[str]] = {}

    visitor = Client(HTTP_ACCEPT_LANGUAGE="en")
    _walk(visitor, paths, seen)
    _post(visitor, "/cookies/", {"action": "accept", "next": "/"}, seen)
    _post(visitor, "/cookies/", {"action": "refuse", "next": "/"}, seen)
    _post(visitor, "/i18n/setlang/", {"language": "fr", "next": "/"}, seen)
    signup = {
        "email": "nadia@example.fr",
        "password1": PASSWORD,
        "account_kind": "individual",
        "name": "Nadia Petit",
        "birth_date": "1990-01-01",
        "terms": "on",
        f"consent_{purpose}": "on",
    }
    assert _post(Client(HTTP_ACCEPT_LANGUAGE="en"), "/accounts/signup/", signup, seen).status_code == 302

    customer = Client(HTTP_ACCEPT_LANGUAGE="en")
    login = {"login": "nadia@example.fr", "password": PASSWORD}
    assert _post(customer, "/accounts/login/", login, seen).status_code == 302
    _walk(customer, paths, seen)
    _post(customer, "/account/consents/", {"purpose": purpose, "granted": "0"}, seen)
    _post(customer, "/account/consents/", {"purpose": purpose, "granted": "1"}, seen)
    _post(customer, "/cookies/", {"action": "save", "next": "/account/"}, seen)
    _post(customer, "/accounts/logout/", {}, seen)

    assert {"sessionid", "csrftoken", "pacte_consent", "django_language"} <= set(seen)  # the walk saw them
    undeclared = {name: sorted(where) for name, where in seen.items() if name not in cookie_names_declared()}
    assert undeclared == {}


def _request_through(middleware: UndeclaredCookieMiddleware):
    return middleware(RequestFactory().get("/u/3f2c/unsubscribe/"))


def _setting_cookies(request) -> HttpResponse:
    response = HttpResponse("ok")
    response.set_cookie("sessionid", "x")
    response.set_cookie("messages", "Confirmation email sent to someone@example.fr")
    response.delete_cookie("old_tracker")  # deleting stores nothing: always allowed
    return response


def test_an_undeclared_cookie_fails_when_strict_and_is_only_logged_otherwise(settings, caplog) -> None:
    middleware = UndeclaredCookieMiddleware(_setting_cookies)
    settings.DEBUG = False
    settings.PACTE_STRICT_COOKIES = True
    with pytest.raises(UndeclaredCookieError) as raised:
        _request_through(middleware)
    assert str(raised.value) == (
        "Cookie(s) messages set by GET ? are not declared in the policy — declare each in a "
        "[cookies.<name>] table of the policy file, or stop setting it"
    )

    settings.PACTE_STRICT_COOKIES = False
    settings.DEBUG = True
    with pytest.raises(UndeclaredCookieError):
        _request_through(middleware)

    settings.DEBUG = False
    with caplog.at_level(logging.ERROR, logger="pacte.consent.middleware"):
        response = _request_through(middleware)
    assert response.status_code == 200 and set(response.cookies) == {"sessionid", "messages", "old_tracker"}
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and "Cookie(s) messages set by GET" in record.getMessage()
    assert "example.fr" not in caplog.text and "3f2c" not in caplog.text


def test_the_middleware_stops_the_messages_cookie_of_a_real_page(settings) -> None:
    # Where it belongs: right after the security headers, outside every middleware that sets cookies.
    stack = [name for name in settings.MIDDLEWARE if name != MIDDLEWARE]
    at = stack.index("pacte.core.middleware.SecurityHeadersMiddleware") + 1
    settings.MIDDLEWARE = [*stack[:at], MIDDLEWARE, *stack[at:]]
    settings.MESSAGE_STORAGE = COOKIE_STORAGE  # Django's default, which set the undeclared cookie
    settings.PACTE_STRICT_COOKIES = True
    with pytest.raises(UndeclaredCookieError, match=r"^Cookie\(s\) messages set by POST cookies/ "):
        Client().post("/cookies/", {"action": "refuse", "next": "/"})
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
    response = Client().post("/cookies/", {"action": "refuse", "next": "/"})
    assert response.status_code == 302 and "messages" not in response.cookies
