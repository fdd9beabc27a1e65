from django.urls import path

from pacte.commerce import views, views_relations

app_name = "commerce"

# The shop's own pages come before /shop/<slug>/ (and no product may take their slug: models.RESERVED_SLUGS).
urlpatterns = [
    path("shop/", views.catalogue, name="catalogue"),
    path("shop/cart/", views.cart_page, name="cart"),
    path("shop/checkout/", views.checkout, name="checkout"),
    path("shop/<slug:slug>/", views.product, name="product"),
    path("account/orders/", views.orders, name="orders"),
    path("account/orders/<uuid:order_id>/", views.order, name="order"),
    path("account/interests/", views_relations.interest_page, name="interests"),
    path("account/subscriptions/", views_relations.subscription_page, name="subscriptions"),
    path(
        "account/subscriptions/<uuid:subscription_id>/cancel/",
        views_relations.subscription_cancel,
        name="subscription_cancel",
    ),
    path("account/testimonials/", views_relations.my_testimonials, name="my_testimonials"),
    path("testimonials/", views_relations.testimonial_page, name="testimonials"),
    path("testimonials/write/", views_relations.testimonial_write, name="testimonial_write"),
    path("contact/", views_relations.contact_page, name="contact"),
    path("staff/popular-items/", views_relations.popular_page, name="popular"),
]
