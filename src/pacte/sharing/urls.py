from django.urls import path

from pacte.sharing import views

app_name = "sharing"

urlpatterns = [
    path("account/disclosures/", views.my_disclosures, name="my_disclosures"),
]
