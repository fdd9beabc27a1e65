from django.urls import path

from pacte.billing import views

app_name = "billing"

urlpatterns = [
    path("billing/webhooks/<slug:gateway>/", views.webhook, name="webhook"),
    path("account/payment-accounts/", views.payment_accounts, name="payment_accounts"),
]
