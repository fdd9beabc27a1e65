"""URLs for the billing benchmark: Pacte's own, plus a bare POST view as the baseline of the webhook."""

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request):  # noqa: ANN001, ANN201
    return JsonResponse({"received": True})


urlpatterns = [path("_bench/bare-post/", bare), path("", include("pacte.urls"))]
