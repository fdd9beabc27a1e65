"""Staff must protect their account with a second factor before using anything but the MFA pages."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

ALLOWED_PREFIXES = ("/accounts/", "/static/", "/i18n/")


class StaffMFARequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.is_staff
            and not request.path.startswith(ALLOWED_PREFIXES)
        ):
            from allauth.mfa.utils import is_mfa_enabled

            if not is_mfa_enabled(user):
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
            import hashlib

            from allauth.usersessions.models import UserSession
            from django.core.cache import cache

            key = "pacte:seen:" + hashlib.sha256(session.session_key.encode()).hexdigest()[:32]
            if cache.add(key, 1, self.EVERY_SECONDS):
                UserSession.objects.create_from_request(request)
        return self.get_response(request)
