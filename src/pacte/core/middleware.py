"""Security headers and the PacteError handler."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from pacte.core.errors import PacteError, problem_response

# No third-party host anywhere: everything is served by Pacte itself. Inline scripts and styles are
# refused; templates use static files only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def csp_for(request: HttpRequest) -> str:
    """The strict policy, opened to a widget's host only on a page that renders it after consent."""
    extra: dict[str, set[str]] = getattr(request, "pacte_csp_extra", {})
    if not extra:
        return CONTENT_SECURITY_POLICY
    parts = []
    for directive in CONTENT_SECURITY_POLICY.split("; "):
        name = directive.split(" ", 1)[0]
        hosts = sorted(extra.get(name, ()))
        parts.append(" ".join([directive, *hosts]) if hosts else directive)
    return "; ".join(parts)


PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


# Pages that may show personal data or carry a secret in their address are never kept by a browser or
# proxy cache, whoever asks; so is every page served to a signed-in person.
PRIVATE_PREFIXES = ("/account/", "/accounts/", "/api/", "/admin/", "/staff/", "/u/", "/newsletter/confirm/")


def is_private(request: HttpRequest) -> bool:
    """Tell whether a response to ``request`` may hold personal data (and so must not be cached)."""
    user = getattr(request, "user", None)
    return request.path.startswith(PRIVATE_PREFIXES) or bool(user is not None and user.is_authenticated)


class SecurityHeadersMiddleware:
    """Add the strict Content-Security-Policy and Permissions-Policy to every response; no-store where private."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", csp_for(request))
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if is_private(request):
            add_never_cache_headers(response)
        return response


class PacteErrorMiddleware:
    """Render a PacteError as a clear message: problem+json for the API, a page otherwise."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, PacteError):
            return None
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            return problem_response(exception.status, str(exception.message), exception.code)
        response = TemplateResponse(request, "core/error.html", {"error": exception}, status=exception.status)
        return response.render()
