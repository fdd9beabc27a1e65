"""Refuse, in development and tests, any cookie the policy does not declare; log it in production.

The cookie banner and the privacy notice list the cookies of ``[cookies.*]`` in the policy: a cookie set
by the application but missing there is one people were never told about (Django's ``messages`` cookie
was one, carrying "Confirmation email sent to <address>").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http.cookies import Morsel

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

from pacte.consent import app_settings, selectors

logger = logging.getLogger(__name__)


class UndeclaredCookieError(ImproperlyConfigured):
    """A response sets a cookie that the active policy does not declare."""


def _is_deletion(morsel: Morsel) -> bool:
    # Deleting a cookie stores nothing in the browser: always allowed, declared or not.
    return str(morsel["max-age"]) == "0" or str(morsel["expires"]).startswith("Thu, 01 Jan 1970")


def undeclared_cookies(response: HttpResponse) -> list[str]:
    """Return the names of the cookies ``response`` sets that the active policy does not declare."""
    set_now = [name for name, morsel in response.cookies.items() if not _is_deletion(morsel)]
    if not set_now:
        return []
    declared = selectors.cookie_names_declared()
    return sorted(name for name in set_now if name not in declared)


class UndeclaredCookieMiddleware:
    """Check every response's cookies against the policy.

    With ``DEBUG`` or ``PACTE_STRICT_COOKIES`` an undeclared cookie is an error (the request fails with a
    500 naming the cookie); otherwise it is logged as an error and the response goes out unchanged.
    Place it right after ``SecurityHeadersMiddleware`` so that it sees the cookies of every middleware
    below it (sessions, CSRF, messages, locale) and of the view.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        try:
            names = undeclared_cookies(response)
        except Exception:  # no readable policy: the policy app reports that at start-up
            logger.exception("Cannot check cookies against the policy")
            return response
        if not names:
            return response
        # The route, not the path: no personal id or token in the message.
        route = request.resolver_match.route if request.resolver_match else "?"
        message = (
            f"Cookie(s) {', '.join(names)} set by {request.method} {route or '/'} are not declared in the "
            "policy — declare each in a [cookies.<name>] table of the policy file, or stop setting it"
        )
        if app_settings.strict_cookies():
            raise UndeclaredCookieError(message)
        logger.error(message)
        return response
