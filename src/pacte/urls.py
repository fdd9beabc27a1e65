"""Root URL configuration. Each app owns its ``urls.py``; this file only includes them."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

urlpatterns = [
    path("", include("pacte.core.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("", include("pacte.policy.urls")),
    path("", include("pacte.ledger.urls")),
    path("", include("pacte.accounts.urls")),
    path("", include("pacte.consent.urls")),
    path("", include("pacte.rights.urls")),
    path("", include("pacte.messaging.urls")),
    path("", include("pacte.api.urls")),
    path("accounts/", include("allauth.urls")),
]
