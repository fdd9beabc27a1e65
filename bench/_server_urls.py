"""URLs of a benchmark server: the bare baseline views, then every Pacte URL."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.http import require_safe


@require_safe
def bare_html(request: HttpRequest) -> HttpResponse:
    """The smallest Django HTML view, served by the same server: the baseline of `bench/`."""
    return HttpResponse("<!doctype html><title>bare</title><p>bare</p>", content_type="text/html")


@require_safe
def bare_json(request: HttpRequest) -> JsonResponse:
    """The smallest Django JSON view: the API benchmarks' baseline."""
    return JsonResponse({"ok": True})


urlpatterns = [
    path("_bench/bare", bare_html, name="bench-bare"),
    path("_bench/bare.json", bare_json, name="bench-bare-json"),
    path("", include("pacte.urls")),
]
