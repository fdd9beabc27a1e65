from django.urls import path

from pacte.core import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("_bench/bare", views.bare_html, name="bench-bare"),
    path("_bench/bare.json", views.bare_json, name="bench-bare-json"),
]
