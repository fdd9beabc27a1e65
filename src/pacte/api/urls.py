from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path

from pacte.api.api import api, problem


def not_found(request: HttpRequest) -> HttpResponse:
    """Anything else under /api/: a problem+json 404, never an HTML page."""
    return problem(404, "Not found.", "api.not_found")


urlpatterns = [path("api/v1/", api.urls), re_path(r"^api/", not_found)]
