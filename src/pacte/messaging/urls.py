from django.urls import path

from pacte.messaging import views

app_name = "messaging"

urlpatterns = [
    path("newsletter/", views.subscribe, name="subscribe"),
    path("newsletter/confirm/<str:token>/", views.confirm, name="confirm"),
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("staff/mail/", views.staff_mail, name="staff_mail"),
]
