from django.urls import path

from pacte.commerce import views

app_name = "commerce"

urlpatterns = [
    path("shop/", views.catalogue, name="catalogue"),
    path("shop/<slug:slug>/", views.product, name="product"),
]
