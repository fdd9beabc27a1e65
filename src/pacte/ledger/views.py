"""The ledger's public key, for anyone who wants to check a receipt."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from pacte.ledger import selectors


@require_safe
def ledger_key(request: HttpRequest) -> HttpResponse:
    """Serve the Ed25519 public key as PEM (default) or JWK (``?format=jwk``)."""
    if request.GET.get("format") == "jwk":
        return ledger_key_jwk(request)
    response = HttpResponse(selectors.public_key_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'inline; filename="ledger-key.pem"'  # the name My consents tells
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def ledger_key_jwk(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"keys": [selectors.public_key_jwk()]}, content_type="application/jwk-set+json")
    response["Cache-Control"] = "public, max-age=3600"
    return response
