"""Authority requests in the admin: read only (record and decide on /staff/authority-requests/)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from pacte.sharing.models import AuthorityRequest, AuthorityRequestSubject


class AuthorityRequestSubjectInline(admin.TabularInline):
    model = AuthorityRequestSubject
    fields = ("subject", "categories_disclosed", "disclosure_seq", "told_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(AuthorityRequest)
class AuthorityRequestAdmin(admin.ModelAdmin):
    list_display = ("received_on", "authority_name", "authority_kind", "reference", "state", "gag")
    list_filter = ("state", "authority_kind", "gag")
    inlines = [AuthorityRequestSubjectInline]

    # Every change goes through the services (two-person rule, ledger, the gate): none here.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
