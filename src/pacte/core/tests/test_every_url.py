"""Every URL that Pacte and allauth expose, visited as a visitor, a customer and a staff member: no 500.

Personal pages and pages of signed-in people also tell every cache not to keep them.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from pacte.accounts.services import user_create

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"
SAMPLES = {"int": "1", "uuid": str(uuid.uuid4()), "uidb36": "1", "key": "abc-def", "object_id": "1"}


def _sample(route: str) -> str:
    """Turn a route (path converters or a regex) into a concrete path."""
    path = re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: SAMPLES.get(m.group(1) or "", "sample"), route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLES.get(m.group(1), "sample"), path)
    path = path.replace("^", "").replace("$", "").replace("\\", "")
    return "/" + path


def every_path() -> list[str]:
    """One concrete path per URL pattern of the project (allauth's and Django admin's included)."""
    paths: list[str] = []

    def walk(patterns: list, prefix: str) -> None:
        for item in patterns:
            route = prefix + str(item.pattern)
            if isinstance(item, URLResolver):
                walk(item.url_patterns, route)
            elif isinstance(item, URLPattern):
                paths.append(_sample(route))

    walk(get_resolver().url_patterns, "")
    return sorted(set(paths))


def _customer_client() -> Client:
    user_create(email="dominique@example.fr", password=PASSWORD, birth_date=None, name="Dominique Bernard")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert (
        client.post("/accounts/login/", {"login": "dominique@example.fr", "password": PASSWORD}).status_code
        == 302
    )
    return client


def _staff_client() -> Client:
    user = user_create(
        email="agent@operator.example", password=PASSWORD, birth_date=None, name="Camille Agent"
    )
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    TOTP.activate(user, generate_totp_secret())
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(user)
    session = client.session
    # What allauth records after the TOTP step (the journey itself is tested in test_staff_login.py).
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time()},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


def test_production_urls_hold_no_benchmark_or_test_page() -> None:
    # "/testimonials/" is the shop's (issue 16): a word that merely starts with "test" is not a test page.
    words = {path: path.replace("testimonial", "") for path in every_path()}
    assert [path for path, rest in words.items() if "bench" in rest or "test" in rest] == []


def test_no_url_answers_500_to_a_visitor_a_customer_or_staff() -> None:
    paths = every_path()
    assert len(paths) > 80 and "/accounts/sessions/" in paths and "/admin/rights/rightsrequest/" in paths
    cache.clear()
    clients = {
        "visitor": Client(HTTP_ACCEPT_LANGUAGE="en"),
        "customer": _customer_client(),
        "staff": _staff_client(),
    }
    failures = []
    for who, client in clients.items():
        for path in paths:
            if path.endswith("/logout/"):
                continue  # a GET shows a confirmation; visiting it last is pointless
            response = client.get(path)
            if response.status_code >= 500:
                failures.append((who, path, response.status_code))
    assert failures == []
    # Each walked as the person it is meant for (not bounced to a sign-in page).
    assert clients["staff"].get("/admin/").status_code == 200
    assert clients["staff"].get("/staff/mail/").status_code == 200
    assert clients["customer"].get("/account/").status_code == 200
    # The two pages the probe found answering 500 to every customer.
    for path in ("/accounts/sessions/", "/accounts/2fa/webauthn/"):
        assert clients["customer"].get(path).status_code == 200, path


def test_pages_with_personal_data_are_never_stored_by_a_cache() -> None:
    client = _customer_client()
    for path in ("/account/", "/account/consents/", "/accounts/email/", "/accounts/sessions/", "/privacy/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], path
    api = Client().get(f"/api/v1/subjects/{uuid.uuid4()}/consents")
    assert "no-store" in api["Cache-Control"]
    # A public page seen by a visitor may be cached.
    assert "no-store" not in Client().get("/privacy/").get("Cache-Control", "")
