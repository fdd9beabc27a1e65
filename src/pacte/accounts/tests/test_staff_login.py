"""One way in for staff: every login URL the project exposes ends at allauth's sign-in with its second factor."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from pacte.accounts.models import User
from pacte.accounts.services import user_create

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"
STAFF_PAGES = ["/admin/", "/staff/mail/", "/admin/rights/rightsrequest/"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _staff_with_totp() -> tuple[User, str]:
    user = user_create(
        email="agent@operator.example",
        password=PASSWORD,
        birth_date=None,
        name="Camille Agent",
        is_staff=True,
    )
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def _login_routes() -> list[str]:
    """Every URL of the project whose route names a login (Django's, allauth's, Pacte's)."""
    found: list[str] = []

    def walk(patterns: list, prefix: str) -> None:
        for item in patterns:
            route = prefix + str(item.pattern)
            if isinstance(item, URLResolver):
                walk(item.url_patterns, route)
            elif isinstance(item, URLPattern) and "login" in route and "<" not in route:
                found.append("/" + route.lstrip("^").rstrip("$"))

    walk(get_resolver().url_patterns, "")
    return found


def _locked_out_of_staff_pages(client: Client) -> None:
    for page in STAFF_PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        # The admin sends a visitor to its own login URL, which is a redirect to allauth's sign-in.
        assert response["Location"].startswith(("/accounts/login/", "/admin/login/")), (
            page,
            response["Location"],
        )


def test_every_login_url_leads_to_the_second_factor() -> None:
    user, _secret = _staff_with_totp()
    routes = _login_routes()
    assert "/admin/login/" in routes and "/accounts/login/" in routes
    for route in routes:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        # Each form's own field names: Django's admin (username/password) and allauth (login/password).
        response = client.post(
            route, {"username": user.email, "login": user.email, "password": PASSWORD, "next": "/admin/"}
        )
        assert response.status_code in (200, 302), route
        if response.status_code == 302:
            # Either Django's admin login (now a redirect to allauth) or allauth's TOTP stage.
            assert response["Location"].startswith(("/accounts/login/", "/accounts/2fa/authenticate/")), (
                route,
                response["Location"],
            )
        _locked_out_of_staff_pages(client)


def test_admin_login_redirects_to_the_sign_in_page_and_checks_no_password() -> None:
    user, _secret = _staff_with_totp()
    client = Client()
    for _ in range(25):
        response = client.post("/admin/login/", {"username": user.email, "password": "wrong"})
        assert response.status_code == 302
        assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    # The admin's "next" is kept, and only when it is a path of this site.
    response = client.get("/admin/login/?next=/admin/rights/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Frights%2F"
    response = client.get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_a_staff_session_opened_without_the_second_factor_is_ended() -> None:
    """Whatever opened it (a login form added later, a backend), a session without MFA gets nothing."""
    user, _secret = _staff_with_totp()
    client = Client()
    client.force_login(user)  # Django's login() alone: no allauth stage, no second factor
    _locked_out_of_staff_pages(client)
    assert "_auth_user_id" not in client.session  # signed out, not merely redirected


def test_staff_signing_in_with_password_and_totp_reach_the_back_office() -> None:
    user, secret = _staff_with_totp()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    first = client.post("/accounts/login/", {"login": "agent@operator.example", "password": PASSWORD})
    assert first["Location"] == "/accounts/2fa/authenticate/"
    _locked_out_of_staff_pages(client)
    counter = list(yield_hotp_counters_from_time())[-1]
    code = format_hotp_value(hotp_value(secret, counter))
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    for page in STAFF_PAGES:
        assert client.get(page).status_code == 200, page
