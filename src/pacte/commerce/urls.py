from django.urls import path

from pacte.commerce import views

app_name = "commerce"

# The shop's own pages come before /shop/<slug>/ (and no product may take their slug: models.RESERVED_SLUGS).
urlpatterns = [
    path("shop/", views.catalogue, name="catalogue"),
    path("shop/cart/", views.cart_page, name="cart"),
    path("shop/checkout/", views.checkout, name="checkout"),
    path("shop/<slug:slug>/", views.product, name="product"),
    path("account/orders/", views.orders, name="orders"),
    path("account/orders/<uuid:order_id>/", views.order, name="order"),
]
