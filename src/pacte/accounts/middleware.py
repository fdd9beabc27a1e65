"""Staff must protect their account with a second factor, and every staff session must have used it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from allauth.usersessions.models import UserSession
from django.contrib.auth import logout
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

ALLOWED_PREFIXES = ("/accounts/", "/static/", "/i18n/")


def session_used_second_factor(request: HttpRequest) -> bool:
    """Tell whether this session's sign-in went through a second factor (TOTP, recovery code, passkey)."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


class StaffMFARequiredMiddleware:
    """One way in for staff: allauth's sign-in with its second factor.

    A staff member without a second factor may only reach the pages that set one up. A staff member
    with one whose session was opened without it (any sign-in form that is not allauth's, such as
    Django's admin login) is signed out and sent to the sign-in page: the check is on the session, so
    no future login URL can skip it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and not request.path.startswith("/static/")
        ):
            if session_used_second_factor(request):
                return self.get_response(request)
            if is_mfa_enabled(user):
                logout(request)
                return redirect(reverse("account_login") + "?" + urlencode({"next": request.get_full_path()}))
            if not request.path.startswith(ALLOWED_PREFIXES):
                return redirect("mfa_index")
        return self.get_response(request)


class UserSessionsMiddleware:
    """allauth's session tracking, at most once a minute per session instead of a write per request.

    "Last seen" in My account is precise to the minute; every other request of a signed-in person is
    spared a write transaction.
    """

    EVERY_SECONDS = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and session.session_key and user is not None and user.is_authenticated:
            # Per process on purpose: at worst each process writes once a minute, and no request
            # pays a shared-cache write for it.
            key = "pacte:seen:" + hashlib.sha256(session.session_key.encode()).hexdigest()[:32]
            if caches["local"].add(key, 1, self.EVERY_SECONDS):
                UserSession.objects.create_from_request(request)
        return self.get_response(request)
