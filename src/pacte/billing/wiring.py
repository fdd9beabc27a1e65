"""What billing registers once every app is loaded: its models' export and erasure, its measures, its
receivers and the hooks through which the shop's orders and subscriptions are paid (apps.ready calls
``connect``; here, not in apps.py, so that these imports stand at the top of a module)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from pacte.billing import (
    checks,  # noqa: F401 - registers pacte.E050, E051, E053, E054
    invoices,
    receivers,
    services,
)
from pacte.billing.flows import orders, renewals
from pacte.billing.hooks import payment_outcome_register
from pacte.billing.models import GatewayCustomer, Invoice, PaymentAttempt, StoredPaymentMethod
from pacte.commerce.hooks import pay_page_register, renewal_charger_register
from pacte.commerce.subscriptions import subscription_suspend
from pacte.policy.registry import measure_register
from pacte.subjects.registry import register


def connect() -> None:
    register(
        PaymentAttempt,
        exporter=services.payments_export,
        eraser=services.payments_keep,
        kind="payments",
        fields=services.PAYMENT_EXPORT_FIELDS,
        label=_("Your payments"),
    )
    register(
        StoredPaymentMethod,
        exporter=services.payment_methods_export,
        eraser=services.payment_methods_erase,
        kind="payment_methods",
        fields=services.PAYMENT_METHOD_EXPORT_FIELDS,
        label=_("Your saved payment methods"),
    )
    register(
        GatewayCustomer,
        exporter=services.gateway_customers_export,
        eraser=services.gateway_customers_erase,
        kind="payment_accounts",
        fields=services.GATEWAY_CUSTOMER_EXPORT_FIELDS,
        label=_("Your payment accounts"),
    )
    # The shop's orders are paid here: their outcome moves the order, and checkout ends on the pay page.
    receivers.connect()
    payment_outcome_register(orders.order_payment_outcome)
    pay_page_register(orders.order_pay_url)
    # Subscriptions: each renewal order is charged with the saved card (a task, so the hourly renewal
    # run never waits for a gateway); the last failed try suspends the subscription.
    renewal_charger_register(renewals.renewal_charge_enqueue)
    renewals.renewal_suspended_register(
        lambda *, reference, subject_id: subscription_suspend(order_id=reference)
    )
    measure_register(
        "billing.no_card_data",
        fr="Aucun numéro de carte ni cryptogramme n’est conservé : seuls le jeton du prestataire, la marque, les 4 derniers chiffres et la date d’expiration (délibération CNIL 2018-303) ; notifications des passerelles vérifiées par signature",
        en="No card number or security code is kept: only the processor's token, brand, last 4 digits and expiry date (CNIL deliberation 2018-303); gateway notifications verified by signature",
    )
    # Invoices and credit notes (invoices.py): kept through an erasure under the `invoices` legal hold.
    register(
        Invoice,
        exporter=invoices.invoices_export,
        eraser=invoices.invoices_keep,
        kind="billing_invoices",  # "invoices" is the test app's legal-hold model (tests/testapp)
        fields=invoices.INVOICE_EXPORT_FIELDS,
        label=_("Your invoices and credit notes"),
    )
