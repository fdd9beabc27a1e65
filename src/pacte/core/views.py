"""Core views: the front page and the health check (the benchmarks' bare baselines live in bench/)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Answer 200 when the process is up (used by `pacte serve` and load balancers)."""
    return HttpResponse("ok", content_type="text/plain")


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The front page: who the operator is and the ways in (account, rights, notice)."""
    return render(request, "core/home.html")
