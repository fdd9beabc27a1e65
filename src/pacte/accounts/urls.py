from django.urls import path

from pacte.accounts import views

app_name = "accounts"

urlpatterns = [
    path("account/", views.account, name="account"),
    path("account/deactivate/", views.deactivate, name="deactivate"),
    path("account/reactivate/", views.reactivate, name="reactivate"),
    path("account/sessions/end/", views.sessions_end, name="sessions_end"),
    path("account/organisation/<uuid:organisation_id>/", views.organisation, name="organisation"),
]
