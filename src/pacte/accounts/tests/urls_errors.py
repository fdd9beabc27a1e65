"""Pacte's URLs plus two views that fail, to see the 403 and 500 pages as a visitor would."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path

from pacte.urls import urlpatterns as pacte_urlpatterns


def refused(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a test failure")


urlpatterns = [path("test-refused/", refused), path("test-boom/", boom), *pacte_urlpatterns]
