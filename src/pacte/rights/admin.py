"""The staff queue of rights requests (Django admin until the back office lands): by due date, overdue marked."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from pacte.rights import services
from pacte.rights.models import RightsRequest


@admin.register(RightsRequest)
class RightsRequestAdmin(admin.ModelAdmin):
    list_display = ("short_id", "kind", "channel", "received_at", "deadline_shown", "overdue", "status")
    list_filter = ("status", "kind", "channel")
    ordering = ("due_at",)
    raw_id_fields = ("subject",)
    fields = ("subject", "kind", "channel", "identity_check", "received_at", "details")

    @admin.display(description=_("request"))
    def short_id(self, obj: RightsRequest) -> str:
        return str(obj.pk)[:8]

    @admin.display(description=_("deadline"), ordering="due_at")
    def deadline_shown(self, obj: RightsRequest) -> Any:
        return obj.deadline

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, obj: RightsRequest) -> bool:
        return obj.is_overdue

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A recorded request is history: its facts are changed only through its steps.
        return self.fields if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: RightsRequest, form: Any, change: bool) -> None:
        if change:
            return
        created = services.request_create(
            subject=obj.subject,
            kind=obj.kind,
            channel=obj.channel,
            identity_check=obj.identity_check,
            details=str(obj.details or ""),
            received_at=obj.received_at,
            recorded_by=f"staff:{request.user.pk}",
        )
        obj.pk = created.pk
