"""Root URL configuration. Each app owns its ``urls.py``; this file only includes them."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from pacte.accounts.views import admin_login

urlpatterns = [
    path("", include("pacte.core.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    # Django's own admin login checks a password only: every sign-in goes through allauth (with MFA).
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("", include("pacte.policy.urls")),
    path("", include("pacte.ledger.urls")),
    path("", include("pacte.accounts.urls")),
    path("", include("pacte.consent.urls")),
    path("", include("pacte.rights.urls")),
    path("", include("pacte.messaging.urls")),
    path("", include("pacte.sharing.urls")),
    path("", include("pacte.commerce.urls")),
    path("", include("pacte.telemetry.urls")),
    path("", include("pacte.billing.urls")),
    path("", include("pacte.api.urls")),
    path("accounts/", include("allauth.urls")),
]
