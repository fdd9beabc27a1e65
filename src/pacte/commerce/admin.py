"""Staff manage the catalogue, follow orders and record their contacts with customers (Django admin
until the back office lands). Every write goes through ``services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pacte.commerce import contact, services, testimonials
from pacte.commerce.models import (
    ContactMessage,
    Order,
    OrderContact,
    OrderLine,
    Product,
    Subscription,
    Testimonial,
)
from pacte.core.errors import PacteError


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_fr", "name_en", "kind", "period", "price_cents", "vat_rate", "active")
    list_filter = ("active", "kind")
    search_fields = ("slug", "name_fr", "name_en")
    ordering = ("position", "slug")

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        services.product_save(product=obj)


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ("product_slug", "quantity", "unit_cents", "vat_rate", "net_cents", "vat_cents", "gross_cents")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _each(request: HttpRequest, queryset: QuerySet[Order], service: Any, done: Any) -> None:
    actor = f"staff:{request.user.pk}"
    changed = 0
    for order in queryset:
        try:
            service(order=order, actor=actor)
            changed += 1
        except PacteError as refused:
            messages.error(request, f"{order.reference}: {refused.message}")
    if changed:
        messages.success(request, done % {"count": changed})


@admin.action(description=_("Mark as paid (payment received outside the site)"))
def mark_paid(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Order]) -> None:
    _each(request, queryset, services.order_mark_paid, _("%(count)d order(s) marked paid."))


@admin.action(description=_("Mark as fulfilled"))
def mark_fulfilled(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Order]) -> None:
    _each(request, queryset, services.order_fulfil, _("%(count)d order(s) marked fulfilled."))


@admin.action(description=_("Cancel (not paid yet)"))
def cancel(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Order]) -> None:
    _each(request, queryset, services.order_cancel, _("%(count)d order(s) cancelled."))


@admin.action(description=_("Mark as refunded"))
def refund(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Order]) -> None:
    _each(request, queryset, services.order_refund, _("%(count)d order(s) marked refunded."))


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are facts: read-only here, changed only by their state actions (each one in the ledger)."""

    list_display = ("reference", "status", "gross_cents", "created_at")
    list_filter = ("status",)
    search_fields = ("reference",)
    ordering = ("-created_at",)
    actions = (mark_paid, mark_fulfilled, cancel, refund)
    inlines = (OrderLineInline,)
    fields = (
        "reference",
        "status",
        "purpose",
        "net_cents",
        "vat_cents",
        "gross_cents",
        "created_at",
        "paid_at",
        "fulfilled_at",
        "cancelled_at",
        "refunded_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OrderContact)
class OrderContactAdmin(admin.ModelAdmin):
    """Record that the customer was contacted about an order (by phone, post or e-mail); the note is
    encrypted under the customer's keys."""

    list_display = ("order", "channel", "contacted_at", "recorded_by")
    list_filter = ("channel",)
    raw_id_fields = ("order",)
    fields = ("order", "channel", "contacted_at", "note")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: OrderContact, form: Any, change: bool) -> None:
        if change:
            return
        created = services.order_contact_record(
            order=obj.order,
            channel=obj.channel,
            contacted_at=obj.contacted_at,
            note=str(obj.note or ""),
            actor=f"staff:{request.user.pk}",
        )
        obj.pk = created.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description=_("Publish"))
def publish(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Testimonial]) -> None:
    for row in queryset:
        testimonials.testimonial_publish(testimonial=row, publish=True)
    messages.success(
        request,
        _(
            "Published. A signed testimonial is shown only while its author consents; an unsigned one, without a name."
        ),
    )


@admin.action(description=_("Take off the public page"))
def unpublish(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Testimonial]) -> None:
    for row in queryset:
        testimonials.testimonial_publish(testimonial=row, publish=False)
    messages.success(request, _("Taken off the public page."))


@admin.register(Testimonial)
class TestimonialAdmin(admin.ModelAdmin):
    """Staff read testimonials and choose which to publish; the author removes theirs from My account."""

    list_display = ("__str__", "signed", "lang", "created_at", "published_at")
    list_filter = ("signed", "lang")
    ordering = ("-created_at",)
    actions = (publish, unpublish)
    fields = ("text", "author_name", "signed", "lang", "created_at", "published_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ContactAnswerForm(forms.ModelForm):
    reply = forms.CharField(
        label=_("Your answer (mailed to the sender, in their language)"),
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
    )

    class Meta:
        model = ContactMessage
        fields: tuple[str, ...] = ()


@admin.register(ContactMessage)
class ContactMessageAdmin(admin.ModelAdmin):
    """Staff read a contact-form message and answer it: the answer is mailed through the outbox."""

    form = ContactAnswerForm
    list_display = ("__str__", "from_customer", "lang", "created_at", "answered_at")
    list_filter = ("from_customer", "lang")
    ordering = ("-created_at",)
    readonly_fields = ("sender_name", "email", "message", "lang", "created_at", "answer", "answered_at")
    fields = (*readonly_fields, "reply")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ContactMessage, form: Any, change: bool) -> None:
        reply = form.cleaned_data.get("reply", "")
        if not str(reply).strip():
            return
        try:
            contact.contact_answer(message=obj, answer=reply, actor=f"staff:{request.user.pk}")
        except PacteError as refused:
            messages.error(request, refused.message)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Subscriptions are changed by the customer (cancel) and the renewal task only: read-only here."""

    list_display = ("__str__", "plan", "state", "period_start", "period_end")
    list_filter = ("state",)
    ordering = ("-created_at",)
    fields = (
        "plan",
        "quantity",
        "state",
        "period_start",
        "period_end",
        "created_at",
        "cancelled_at",
        "ended_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
