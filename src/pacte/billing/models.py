"""Billing's tables: payment attempts, stored payment methods, gateway customers, seen webhook ids.

No table holds a card number or a security code, ever (CNIL deliberation 2018-303): a stored payment
method is the gateway's token (encrypted under the customer's key), the brand, the last 4 digits and
the expiry. A webhook leaves only its id (for idempotence), never its body.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pacte.vault.fields import EncryptedJSONField, EncryptedPostalAddressField, EncryptedTextField


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
        # Seeing payments in the admin is not enough to give money back: refunds need this permission.
        permissions = [("refund_paymentattempt", _("Can refund a payment through its gateway"))]
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


# --- invoices and credit notes (issue 17 point 5) -------------------------------------------------------

INVOICE_CLASS = "invoices"  # the policy's legal-hold retention class (Code de commerce L123-22: 10 years)


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


# Each kind has its own continuous series (CGI annex II art. 242 nonies A allows distinct series, each
# without gaps): invoices F-00000001, F-00000002…; credit notes AV-00000001…
SERIES: dict[str, str] = {InvoiceKind.INVOICE: "F", InvoiceKind.CREDIT_NOTE: "AV"}


class InvoiceSequence(models.Model):
    """The counter of one numbering series: the one row every issue of that series locks.

    A number is taken in the transaction that writes the invoice, so a failed issue takes no number and
    the series stays without gaps. One Pacte installation is one operator: one row per series.
    """

    series = models.CharField(primary_key=True, max_length=8)
    last = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("numbering series")
        verbose_name_plural = _("numbering series")

    def __str__(self) -> str:
        return f"{self.series} {self.last}"


class InvoiceImmutable(Exception):
    """Raised by any attempt to change or delete an issued invoice (a credit note corrects it)."""


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def update(self, **kwargs: Any) -> int:
        raise InvoiceImmutable("an issued invoice cannot be changed: issue a credit note")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise InvoiceImmutable("an issued invoice cannot be deleted: retention destroys its key")


class Invoice(models.Model):
    """An issued invoice or credit note: numbered, frozen, its buyer and lines under the ``invoices`` key.

    Everything the document shows is copied here at issue (seller from the policy's operator, buyer and
    lines from the order), so the document never changes when the catalogue, the policy or the account
    does. The row cannot be updated or deleted (model, queryset and a database trigger refuse it). The
    buyer's fields and the lines are encrypted under the subject's ``invoices`` key, which an erasure
    keeps (legal hold) and retention destroys at the term; amounts and numbers are not personal.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey("commerce.Order", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=InvoiceKind.choices)
    series = models.CharField(max_length=8)
    seq = models.PositiveBigIntegerField()
    number = models.CharField(_("number"), max_length=24, unique=True)
    credited = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    reason = models.CharField(max_length=40, blank=True)  # a credit note's coded reason ("refund")
    issued_at = models.DateTimeField(_("issued at"))
    sale_date = models.DateField(_("date of sale"))
    lang = models.CharField(max_length=2, default="fr")
    currency = models.CharField(max_length=3, default="EUR")
    order_reference = models.CharField(_("order"), max_length=16)
    net_cents = models.PositiveBigIntegerField(_("total excl. VAT (cents)"))
    vat_cents = models.PositiveBigIntegerField(_("VAT (cents)"))
    gross_cents = models.PositiveBigIntegerField(_("total incl. VAT (cents)"))
    vat_summary = models.JSONField(default=list)  # [{"rate": "20.0", "net": cents, "vat": cents}], no person
    seller = models.JSONField(default=dict)  # the operator as the policy named it at issue (a company)
    buyer_name = EncryptedTextField(
        _("buyer"), category="identity.name", retention_class=INVOICE_CLASS, blank=True
    )
    buyer_organisation = EncryptedTextField(
        _("organisation"), category="organisation.details", retention_class=INVOICE_CLASS, blank=True
    )
    buyer_address = EncryptedPostalAddressField(
        _("billing address"), category="contact.postal", retention_class=INVOICE_CLASS, blank=True
    )
    buyer_siren = EncryptedTextField(
        _("buyer's SIREN"), category="organisation.details", retention_class=INVOICE_CLASS, blank=True
    )
    buyer_vat = EncryptedTextField(
        _("buyer's VAT number"), category="organisation.details", retention_class=INVOICE_CLASS, blank=True
    )
    lines = EncryptedJSONField(_("lines"), category="commerce.orders", retention_class=INVOICE_CLASS)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ("series", "seq")
        permissions = [("download_invoice", _("Can download invoices, those of erased customers included"))]
        constraints = [
            models.UniqueConstraint(fields=["series", "seq"], name="billing_invoice_series_seq"),
            models.UniqueConstraint(
                fields=["order"], condition=Q(kind="invoice"), name="billing_one_invoice_per_order"
            ),
            models.CheckConstraint(condition=Q(seq__gt=0), name="billing_invoice_seq_positive"),
            models.CheckConstraint(
                condition=Q(kind="invoice", credited__isnull=True)
                | Q(kind="credit_note", credited__isnull=False),
                name="billing_credit_note_credits_an_invoice",
            ),
        ]
        indexes = [models.Index(fields=["issued_at"], name="billing_invoice_issued_idx")]

    def __str__(self) -> str:
        return self.number

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise InvoiceImmutable(f"invoice {self.number} is issued: it cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise InvoiceImmutable(f"invoice {self.number} is issued: it cannot be deleted")

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE
