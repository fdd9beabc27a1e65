"""Core views: health check and the bare baseline views that benchmarks compare against."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer 200 when the process is up (used by `pacte serve` and load balancers)."""
    return HttpResponse("ok", content_type="text/plain")


@require_safe
def bare_html(request: HttpRequest) -> HttpResponse:
    """The smallest Django HTML view, served by the same server: the baseline of `bench/`."""
    return HttpResponse("<!doctype html><title>bare</title><p>bare</p>", content_type="text/html")


@require_safe
def bare_json(request: HttpRequest) -> JsonResponse:
    """The smallest Django JSON view: the API benchmarks' baseline."""
    return JsonResponse({"ok": True})


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The front page: who the operator is and the ways in (account, rights, notice)."""
    from django.shortcuts import render

    return render(request, "core/home.html")
