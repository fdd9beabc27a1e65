"""Give each request its own data-key cache, dropped when the response is ready."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from pacte.vault.crypto import vault_scope


class VaultScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with vault_scope():
            return self.get_response(request)
