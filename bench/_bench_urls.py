"""URLs for in-process page benchmarks: Pacte's own URLs plus two pages over test models."""

from django.shortcuts import render
from django.urls import include, path
from tests.testapp.models import TenPlain, TenSecrets


def _page(model):  # noqa: ANN001, ANN202
    def view(request, pk):  # noqa: ANN001, ANN202
        return render(request, "bench/ten_fields.html", {"row": model.objects.get(pk=pk)})

    return view


urlpatterns = [
    path("_bench/secret/<uuid:pk>/", _page(TenSecrets)),
    path("_bench/plain/<uuid:pk>/", _page(TenPlain)),
    path("", include("pacte.urls")),
]
