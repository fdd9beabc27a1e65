from django.urls import path

from pacte.policy import views

app_name = "policy"

urlpatterns = [
    path("privacy/", views.notice, name="notice"),
    path("privacy/versions/", views.versions, name="versions"),
    path("privacy/versions/<int:number>/", views.version, name="version"),
    path("terms/", views.terms, name="terms"),
    path("terms/versions/", views.terms_versions, name="terms_versions"),
    path("terms/versions/<int:number>/", views.terms_version, name="terms_version"),
]
