from django.urls import path

from pacte.telemetry import views

app_name = "telemetry"

urlpatterns = [
    path("statistics/opt-out/", views.opt_out, name="opt_out"),
    path("staff/statistics/", views.staff_statistics, name="staff_statistics"),
]
