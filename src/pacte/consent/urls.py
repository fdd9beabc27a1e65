from django.urls import path

from pacte.consent import views

app_name = "consent"

urlpatterns = [
    path("cookies/", views.cookies, name="cookies"),
    path("account/consents/", views.my_consents, name="my_consents"),
    path("account/consents/receipts.json", views.my_receipts, name="my_receipts"),
]
