"""Billing in the admin: payments and webhook ids, read-only (states change through the gateways)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from pacte.billing.models import PaymentAttempt, WebhookEvent


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(PaymentAttempt)
class PaymentAttemptAdmin(ReadOnly):
    list_display = ("id", "gateway", "state", "reason", "amount", "refunded_amount", "currency", "created_at")
    list_filter = ("state", "gateway")
    exclude = ("subject",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnly):
    list_display = ("gateway", "event_id", "received_at")
