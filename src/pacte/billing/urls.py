from django.urls import path

from pacte.billing import views, views_pay

app_name = "billing"

urlpatterns = [
    path("billing/webhooks/<slug:gateway>/", views.webhook, name="webhook"),
    path("account/payment-accounts/", views.payment_accounts, name="payment_accounts"),
]

# Paying an order (after checkout; linked from the order's page while it waits for payment).
urlpatterns += [path("shop/orders/<uuid:order_id>/pay/", views_pay.pay, name="pay")]


# Invoices (invoice_views.py): a customer downloads their own from Purchase history.
from pacte.billing import invoice_views  # noqa: E402 - appended section, kept apart for merging

urlpatterns += [
    path("account/invoices/<uuid:invoice_id>/pdf/", invoice_views.invoice_pdf, name="invoice_pdf"),
]


# Orders paid at PayPal (views_paypal.py): the pay page's button, and where PayPal sends the buyer back.
from pacte.billing import views_paypal  # noqa: E402 - appended section, kept apart for merging

urlpatterns += [
    path("shop/orders/<uuid:order_id>/pay/approve/", views_paypal.approval_start, name="approval_start"),
    path("billing/paypal/return/", views_paypal.paypal_return, name="paypal_return"),
    path("billing/paypal/cancel/", views_paypal.paypal_cancel, name="paypal_cancel"),
]
