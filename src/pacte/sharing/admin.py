"""Staff pages of sharing in the admin (until the back office lands).

Authority requests are read only here (record and decide on /staff/authority-requests/); operator
webhooks: endpoints (secret shown once) and deliveries (failed ones retried by staff).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from pacte.core.errors import PacteError
from pacte.policy.selectors import policy_active
from pacte.sharing import webhooks
from pacte.sharing.models import (
    AuthorityRequest,
    AuthorityRequestSubject,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)


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


class WebhookEndpointForm(forms.ModelForm):
    recipient = forms.ChoiceField(label=_("recipient"))
    purpose = forms.ChoiceField(label=_("purpose"))
    url = forms.CharField(
        label=_("address"),
        max_length=500,
        help_text=_("https://, at a host the policy declares for the recipient."),
    )
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("recipient", "purpose", "url", "events", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        policy = policy_active()
        recipient_field, purpose_field = self.fields["recipient"], self.fields["purpose"]
        assert isinstance(recipient_field, forms.ChoiceField) and isinstance(purpose_field, forms.ChoiceField)
        recipient_field.choices = [(rid, f"{r.name} ({rid})") for rid, r in policy.recipients.items()]
        purpose_field.choices = [(pid, f"{p.label.en} ({pid})") for pid, p in policy.purposes.items()]
        if not self.instance._state.adding:  # the UUID key is set before saving: ask the state
            self.fields["recipient"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        recipient = data.get("recipient") or self.instance.recipient
        try:
            webhooks.webhook_endpoint_check(
                recipient=recipient,
                purpose=data.get("purpose", ""),
                url=data.get("url", ""),
                events=list(data.get("events") or []),
            )
        except PacteError as error:
            raise ValidationError(str(error.message)) from None
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("recipient", "purpose", "url", "active", "created_at")
    list_filter = ("active", "recipient")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deliveries point at it: deactivate instead

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            webhooks.webhook_endpoint_update(
                endpoint=obj,
                purpose=data["purpose"],
                url=data["url"],
                events=list(data["events"]),
                active=data["active"],
            )
            return
        endpoint, secret = webhooks.webhook_endpoint_create(
            recipient=data["recipient"],
            purpose=data["purpose"],
            url=data["url"],
            events=list(data["events"]),
            active=data["active"],
            actor=f"staff:{request.user.pk}",
        )
        obj.pk, obj.secret, obj.events, obj.created_at = (
            endpoint.pk,
            endpoint.secret,
            endpoint.events,
            endpoint.created_at,
        )
        obj._state.adding = False
        request._pacte_webhook_secret = secret  # type: ignore[attr-defined]  # shown once, never stored in clear

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: Any = None
    ) -> HttpResponse:
        secret = getattr(request, "_pacte_webhook_secret", "")
        if not secret:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "endpoint": obj,
            "secret": secret,
            "opts": self.opts,
        }
        response = TemplateResponse(request, "sharing/webhook_secret.html", context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "delivered_at",
    )
    list_filter = ("status", "event")
    fields = (
        "endpoint",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "delivered_at",
    )
    readonly_fields = fields
    actions = ("retry",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Retry the selected failed deliveries"))
    def retry(self, request: HttpRequest, queryset: Any) -> None:
        retried = 0
        for delivery in queryset.filter(status="failed"):
            webhooks.webhook_delivery_retry(delivery=delivery)
            retried += 1
        messages.info(request, _("%(count)d deliveries queued again.") % {"count": retried})
