from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from pacte.api import error_codes
from pacte.api.api import api, problem_only
from pacte.core.errors import problem_response


@csrf_exempt  # a POST to an unknown route is a 404 problem, not the CSRF failure page
def not_found(request: HttpRequest) -> HttpResponse:
    """Anything else under /api/: a problem+json 404, never an HTML page."""
    return problem_response(404, _("Not found."), error_codes.NOT_FOUND)


def _api_urls() -> tuple:
    """The API's routes, each wrapped so that a too large body or a wrong method is a problem too."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        assert isinstance(pattern, URLPattern)  # ninja mounts plain views, no nested includes
        pattern.callback = problem_only(pattern.callback)
    return patterns, app_name, namespace


urlpatterns = [path("api/v1/", _api_urls()), re_path(r"^api/", problem_only(not_found))]
