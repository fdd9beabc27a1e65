"""The shop: catalogue (products and plans), saved carts, orders and the staff's contacts about them.

Money is integer euro cents everywhere; VAT rates are ``Decimal`` (French rates only). A product's
``price_cents`` is its price **excluding VAT**; an order line's VAT is computed once, at checkout,
rounded half up to the cent (``pricing.py``), and stored with the line so that the order never changes
when the catalogue does.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pacte.policy.registry import not_personal, only_under
from pacte.vault.fields import EncryptedEmailField, EncryptedPostalAddressField, EncryptedTextField

# The French VAT rates (CGI art. 278 to 281 nonies): normal, intermediate, reduced, special.
VAT_RATES = (Decimal("20.0"), Decimal("10.0"), Decimal("5.5"), Decimal("2.1"))
# Words of the shop's own URLs: no product may take them as its slug.
RESERVED_SLUGS = frozenset({"cart", "checkout", "panier", "commande"})
MAX_PRICE_CENTS = 100_000_000  # one million euros: anything above is a typing mistake


class ProductKind(models.TextChoices):
    PRODUCT = "product", _("Product or service")
    PLAN = "plan", _("Subscription plan")


class PlanPeriod(models.TextChoices):
    MONTH = "month", _("Monthly")
    YEAR = "year", _("Yearly")


class Product(models.Model):
    """Something the shop sells, named and described in French and English; staff manage it."""

    slug = models.SlugField(_("address"), max_length=80, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=ProductKind.choices, default=ProductKind.PRODUCT)
    name_fr = not_personal(models.CharField(_("name (French)"), max_length=120))
    name_en = not_personal(models.CharField(_("name (English)"), max_length=120))
    description_fr = models.TextField(_("description (French)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    price_cents = models.PositiveIntegerField(
        _("price excluding VAT, in euro cents"), validators=[MaxValueValidator(MAX_PRICE_CENTS)]
    )
    vat_rate = models.DecimalField(
        _("VAT rate (%)"),
        max_digits=4,
        decimal_places=1,
        choices=[(rate, f"{rate} %") for rate in VAT_RATES],
        default=Decimal("20.0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    period = models.CharField(_("billing period"), max_length=8, choices=PlanPeriod.choices, blank=True)
    active = models.BooleanField(_("on sale"), default=True)
    position = models.PositiveSmallIntegerField(_("position in the catalogue"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ("position", "slug")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="plan", period__in=["month", "year"])
                | models.Q(kind="product", period=""),
                name="commerce_product_plan_has_period",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        if self.slug in RESERVED_SLUGS:
            raise ValidationError(
                {"slug": _("This address is used by the shop's own pages: choose another.")}
            )
        if self.vat_rate is not None and Decimal(self.vat_rate) not in VAT_RATES:
            raise ValidationError({"vat_rate": _("Use a French VAT rate: 20, 10, 5.5 or 2.1 %.")})
        if self.kind == ProductKind.PLAN and not self.period:
            raise ValidationError(
                {"period": _("A subscription plan is billed monthly or yearly: choose one.")}
            )
        if self.kind == ProductKind.PRODUCT and self.period:
            raise ValidationError({"period": _("Only a subscription plan has a billing period.")})

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_fr

    def description(self, lang: str) -> str:
        return self.description_en if lang == "en" else self.description_fr


class Cart(models.Model):
    """A signed-in customer's saved cart (a visitor's cart lives in the ``cart`` cookie only)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.OneToOneField("subjects.Subject", on_delete=models.CASCADE, related_name="cart")
    # The ids of the cookie carts already merged into this one (the last few): merging twice adds nothing.
    merged = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")

    def __str__(self) -> str:
        return f"cart:{self.pk}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(99)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")
        constraints = [models.UniqueConstraint(fields=["cart", "product"], name="commerce_cart_line_unique")]

    def __str__(self) -> str:
        return f"{self.product_id} × {self.quantity}"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Pending payment")
    PAID = "paid", _("Paid")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


# The only moves between states; each is one ``order.state`` ledger entry.
TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PENDING_PAYMENT: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.FULFILLED, OrderStatus.REFUNDED}),
    OrderStatus.FULFILLED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}
# States in which an invoice exists (the order was paid): the law keeps these through an erasure.
INVOICED = frozenset({OrderStatus.PAID, OrderStatus.FULFILLED, OrderStatus.REFUNDED})
# When each state was reached (the field set by the transition into it).
STATE_TIME_FIELD: dict[str, str] = {
    OrderStatus.PAID: "paid_at",
    OrderStatus.FULFILLED: "fulfilled_at",
    OrderStatus.CANCELLED: "cancelled_at",
    OrderStatus.REFUNDED: "refunded_at",
}
INVOICE_CLASS = "invoices"  # the policy's legal-hold retention class (see app_settings.invoice_retention)


class Order(models.Model):
    """A customer's order: amounts in plain columns, the buyer's identity encrypted.

    The buyer's name, organisation and billing address are what an invoice must show (Code de commerce
    L441-9): they are encrypted under the subject's ``invoices`` key (a legal-hold class), which an
    erasure keeps, so a paid order stays readable by authorised staff until its legal term.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="orders")
    reference = models.CharField(_("reference"), max_length=16, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    purpose = models.CharField(_("purpose"), max_length=64)  # the policy purpose it is processed under
    lang = models.CharField(max_length=2, default="fr")
    currency = models.CharField(max_length=3, default="EUR")
    net_cents = models.PositiveBigIntegerField(_("total excl. VAT (cents)"))
    vat_cents = models.PositiveBigIntegerField(_("VAT (cents)"))
    gross_cents = models.PositiveBigIntegerField(_("total incl. VAT (cents)"))
    buyer_name = EncryptedTextField(
        _("buyer"), category="identity.name", retention_class=INVOICE_CLASS, blank=True
    )
    organisation_name = EncryptedTextField(
        _("organisation"), category="organisation.details", retention_class=INVOICE_CLASS, blank=True
    )
    billing_address = EncryptedPostalAddressField(
        _("billing address"), category="contact.postal", retention_class=INVOICE_CLASS, blank=True
    )
    # The subscription this order renews (an order of a new period, placed by subscriptions_renew_due).
    renews = models.ForeignKey(
        "Subscription", on_delete=models.SET_NULL, null=True, blank=True, related_name="renewals"
    )
    # The one-time id of the checkout form that placed it: a second submission finds this order.
    checkout_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("ordered at"), auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["subject", "-created_at"], name="commerce_order_subject_idx")]

    def __str__(self) -> str:
        return self.reference


class OrderLine(models.Model):
    """One product of an order, as it was sold: name, price and VAT copied at checkout."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    product_slug = models.SlugField(max_length=80)
    name_fr = not_personal(models.CharField(max_length=120))
    name_en = not_personal(models.CharField(max_length=120))
    kind = models.CharField(max_length=8, choices=ProductKind.choices)
    period = models.CharField(max_length=8, choices=PlanPeriod.choices, blank=True)
    unit_cents = models.PositiveBigIntegerField()
    quantity = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(99)])
    vat_rate = models.DecimalField(max_digits=4, decimal_places=1)
    net_cents = models.PositiveBigIntegerField()
    vat_cents = models.PositiveBigIntegerField()
    gross_cents = models.PositiveBigIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return f"{self.product_slug} × {self.quantity}"

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" else self.name_fr


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    POST = "post", _("Post")
    EMAIL = "email", _("E-mail")


class OrderContact(models.Model):
    """Staff contacted the customer about an order (policy: "by phone, post or e-mail"); the note is encrypted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="contacts")
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(_("channel"), max_length=8, choices=ContactChannel.choices)
    contacted_at = models.DateTimeField(_("contacted on"))
    note = EncryptedTextField(_("note"), category="commerce.orders")
    recorded_by = models.CharField(max_length=80)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact about an order")
        verbose_name_plural = _("contacts about orders")
        ordering = ("-contacted_at",)

    def __str__(self) -> str:
        return f"{self.channel} {self.contacted_at:%Y-%m-%d}"


# --- Testimonials -------------------------------------------------------------------------------------

TESTIMONIAL_PURPOSE = "testimonials"  # the policy purpose a testimonial is kept and shown under
TESTIMONIAL_CLASS = "testimonial"  # its retention class: until the consent is withdrawn


class Testimonial(models.Model):
    """A customer's testimonial: the text and the name to show, encrypted under their ``testimonial`` key.

    Staff choose to publish it. The public page shows the name only while the author consents to the
    ``testimonials`` purpose; a testimonial written to be signed is taken down as soon as that consent
    is withdrawn; one written anonymously is shown without a name. Removal by the author deletes it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.CASCADE, related_name="+")
    text = only_under(
        TESTIMONIAL_PURPOSE,
        EncryptedTextField(
            _("testimonial"), category="marketing.testimonial", retention_class=TESTIMONIAL_CLASS
        ),
    )
    author_name = only_under(
        TESTIMONIAL_PURPOSE,
        EncryptedTextField(
            _("name shown"), category="identity.name", retention_class=TESTIMONIAL_CLASS, blank=True
        ),
    )
    signed = models.BooleanField(_("to be shown with the name"), default=False)
    lang = models.CharField(max_length=2, default="fr")
    created_at = models.DateTimeField(_("written on"), auto_now_add=True)
    published_at = models.DateTimeField(_("published on"), null=True, blank=True)

    class Meta:
        verbose_name = _("testimonial")
        verbose_name_plural = _("testimonials")
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["published_at"], name="commerce_testimonial_pub_idx")]

    def __str__(self) -> str:
        return f"testimonial:{str(self.pk)[:8]}"


# --- Contact form -------------------------------------------------------------------------------------

CONTACT_CLASS = "contact_requests"  # 3 years from the last exchange (PluSuite)


class ContactMessage(models.Model):
    """A message sent through the contact form, and staff's answer; everything personal is encrypted.

    A visitor's message gets a subject of its own (kind ``contact``), a signed-in customer's is theirs:
    either way export and erasure reach it. Kept under ``customer_support`` only to answer it; the
    address is never added to any mailing list.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(_("purpose"), max_length=64)
    sender_name = only_under(
        "customer_support",
        EncryptedTextField(_("name"), category="identity.name", retention_class=CONTACT_CLASS),
    )
    email = only_under(
        "customer_support",
        EncryptedEmailField(_("e-mail address"), category="contact.email", retention_class=CONTACT_CLASS),
    )
    message = only_under(
        "customer_support",
        EncryptedTextField(_("message"), category="support.messages", retention_class=CONTACT_CLASS),
    )
    answer = only_under(
        "customer_support",
        EncryptedTextField(
            _("answer"), category="support.messages", retention_class=CONTACT_CLASS, blank=True
        ),
    )
    lang = models.CharField(_("language"), max_length=2, default="fr")
    from_customer = models.BooleanField(_("sent by a signed-in customer"), default=False)
    created_at = models.DateTimeField(_("received on"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered on"), null=True, blank=True)
    answered_by = models.CharField(max_length=80, blank=True)
    # Retention runs from here (``contact_requests``: 3 years from the last exchange).
    last_exchange_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("contact-form message")
        verbose_name_plural = _("contact-form messages")
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"message:{str(self.pk)[:8]}"


# --- Items of interest ----------------------------------------------------------------------------------


class InterestKind(models.TextChoices):
    VIEWED = "viewed", _("Viewed")
    SAVED = "saved", _("Saved for later")


class Interest(models.Model):
    """A product a signed-in customer viewed or saved for later (site_improvement, legitimate interest)."""

    subject = models.ForeignKey("subjects.Subject", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=8, choices=InterestKind.choices)
    first_at = models.DateTimeField(auto_now_add=True)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("item of interest")
        verbose_name_plural = _("items of interest")
        ordering = ("-last_at",)
        constraints = [
            models.UniqueConstraint(fields=["subject", "product", "kind"], name="commerce_interest_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.product_id}"


# Which product a person looked at is personal data of category ``commerce.interests``.
Interest._meta.get_field("product").pacte_category = "commerce.interests"  # type: ignore[attr-defined]
only_under("site_improvement", Interest._meta.get_field("product"))


class InterestObjection(models.Model):
    """A customer objected (art. 21) to the recording of their items of interest: nothing is recorded."""

    subject = models.OneToOneField("subjects.Subject", on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("objection to items of interest")
        verbose_name_plural = _("objections to items of interest")

    def __str__(self) -> str:
        return f"objection:{self.purpose}"


# --- Subscriptions --------------------------------------------------------------------------------------


class SubscriptionState(models.TextChoices):
    ACTIVE = "active", _("Active")
    CANCEL_AT_PERIOD_END = "cancel_at_period_end", _("Cancelled: ends at the end of the period")
    SUSPENDED = "suspended", _("Suspended: the renewal could not be paid")
    ENDED = "ended", _("Ended")


class Subscription(models.Model):
    """A plan bought by a customer: one period after another until cancelled (effective at period end)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="subscriptions"
    )
    quantity = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(
        _("state"), max_length=24, choices=SubscriptionState.choices, default=SubscriptionState.ACTIVE
    )
    period_start = models.DateTimeField(_("current period from"))
    period_end = models.DateTimeField(_("current period until"))
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ("-created_at",)
        indexes = [models.Index(fields=["state", "period_end"], name="commerce_sub_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gt=models.F("period_start")), name="commerce_sub_period"
            )
        ]

    def __str__(self) -> str:
        return f"subscription:{str(self.pk)[:8]}"
