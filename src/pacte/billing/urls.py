from django.urls import path

from pacte.billing import views, views_pay

app_name = "billing"

urlpatterns = [
    path("billing/webhooks/<slug:gateway>/", views.webhook, name="webhook"),
    path("account/payment-accounts/", views.payment_accounts, name="payment_accounts"),
]

# Paying an order (after checkout; linked from the order's page while it waits for payment).
urlpatterns += [path("shop/orders/<uuid:order_id>/pay/", views_pay.pay, name="pay")]
