from django.http import HttpResponse
from django.urls import path

app_name = "policy"


def _placeholder(request):  # replaced by the policy app's real views
    return HttpResponse("privacy")


urlpatterns = [path("privacy/", _placeholder, name="notice")]
