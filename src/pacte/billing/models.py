"""Billing's tables: payment attempts, stored payment methods, gateway customers, seen webhook ids.

No table holds a card number or a security code, ever (CNIL deliberation 2018-303): a stored payment
method is the gateway's token (encrypted under the customer's key), the brand, the last 4 digits and
the expiry. A webhook leaves only its id (for idempotence), never its body.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pacte.vault.fields import EncryptedTextField


class PaymentState(models.TextChoices):
    CREATED = "created", _("Created")  # recorded at Pacte, not yet at the gateway (or the gateway was down)
    PENDING = "pending", _("Waiting for the customer")
    PROCESSING = "processing", _("Being confirmed")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")
    FLAGGED = "flagged", _("Flagged for staff")


# A payment may go from each state to these only: a late, replayed or out-of-order notification that
# asks for anything else changes nothing. FLAGGED is left only by staff.
TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentState.CREATED: frozenset({"pending", "failed", "flagged"}),
    PaymentState.PENDING: frozenset({"processing", "paid", "failed", "flagged"}),
    PaymentState.PROCESSING: frozenset({"paid", "failed", "flagged"}),
    PaymentState.FAILED: frozenset({"processing", "paid", "flagged"}),
    PaymentState.PAID: frozenset({"partially_refunded", "refunded", "flagged"}),
    PaymentState.PARTIALLY_REFUNDED: frozenset({"partially_refunded", "refunded", "flagged"}),
    PaymentState.REFUNDED: frozenset(),
    PaymentState.FLAGGED: frozenset(),
}
# States in which a payable already has its one payment (a second "Pay" click returns it).
LIVE_STATES = ("created", "pending", "processing", "paid", "partially_refunded", "refunded", "flagged")


class PaymentAttempt(models.Model):
    """One attempt to pay a payable at one gateway: amounts in minor units, state driven by webhooks."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="+")
    reference = models.UUIDField(_("payable reference"), db_index=True)
    gateway = models.CharField(_("gateway"), max_length=32)
    recipient = models.CharField(_("policy recipient"), max_length=64, blank=True)
    gateway_id = models.CharField(_("id at the gateway"), max_length=120, blank=True, db_index=True)
    amount = models.PositiveBigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    refunded_amount = models.PositiveBigIntegerField(_("refunded (minor units)"), default=0)
    state = models.CharField(
        _("state"), max_length=20, choices=PaymentState.choices, default=PaymentState.CREATED
    )
    live = models.BooleanField(default=True)  # False once failed: the payable may be paid again
    reason = models.CharField(_("last reason"), max_length=40, blank=True)  # a code, never a value
    last_event_at = models.BigIntegerField(null=True, blank=True)  # gateway time of the last applied event
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(
                fields=["reference"], condition=Q(live=True), name="billing_one_live_payment"
            ),
            models.UniqueConstraint(
                fields=["gateway", "gateway_id"],
                condition=~Q(gateway_id=""),
                name="billing_gateway_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.state}"


class StoredPaymentMethod(models.Model):
    """A payment method kept for renewals: the gateway's token, brand, last 4 digits, expiry. Nothing else."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.CASCADE, related_name="+")
    gateway = models.CharField(_("gateway"), max_length=32)
    token = EncryptedTextField(_("gateway token"), category="billing.payment_token")
    brand = models.CharField(_("brand"), max_length=20)
    last4 = models.CharField(_("last 4 digits"), max_length=4)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"))
    exp_year = models.PositiveSmallIntegerField(_("expiry year"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("saved payment method")
        verbose_name_plural = _("saved payment methods")

    def __str__(self) -> str:
        return f"{self.brand} ····{self.last4}"


class GatewayCustomer(models.Model):
    """The person's customer record at a gateway (PluSuite's terms: opened at activation, closable)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.CASCADE, related_name="+")
    gateway = models.CharField(_("gateway"), max_length=32)
    recipient = models.CharField(_("policy recipient"), max_length=64, blank=True)
    customer_ref = EncryptedTextField(_("customer id at the gateway"), category="billing.payment_token")
    active = models.BooleanField(_("active"), default=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.CharField(max_length=20, blank=True)  # "holder", "erasure", "gateway"

    class Meta:
        verbose_name = _("payment account")
        verbose_name_plural = _("payment accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "gateway"], condition=Q(active=True), name="billing_one_active_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {'active' if self.active else 'closed'}"


class WebhookEvent(models.Model):
    """The id of a webhook already handled (idempotence): gateway, event id, when. Never its body."""

    gateway = models.CharField(max_length=32)
    event_id = models.CharField(max_length=120)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="billing_event_once")]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_id}"
