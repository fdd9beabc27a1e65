"""Staff pages for requests from authorities: the queue, the record form, the decision by a second person.

Plain forms (no JavaScript needed); each view checks its model permission on top of the staff check:
``sharing.add_authorityrequest`` to record, ``sharing.approve_authorityrequest`` to approve, reject or
lift a ban on telling, any of those or ``sharing.view_authorityrequest`` to read.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from pacte.core.errors import PacteError
from pacte.core.i18n import current_language
from pacte.policy.selectors import policy_active
from pacte.sharing import error_codes
from pacte.sharing.authorities import (
    authority_request_approve,
    authority_request_gag_lift,
    authority_request_record,
    authority_request_reject,
    authority_scope,
)
from pacte.sharing.authority_selectors import access_authority_request, authority_request_list
from pacte.sharing.models import AuthorityKind, AuthorityRequest, AuthorityState

READ = ("sharing.view_authorityrequest", "sharing.add_authorityrequest", "sharing.approve_authorityrequest")
# Which form field a refusal of the service is about, so that the message sits next to it.
FIELD_OF = {
    error_codes.AUTHORITY_UNKNOWN_KIND: "authority_kind",
    error_codes.AUTHORITY_BAD_DATE: "received_on",
    error_codes.AUTHORITY_UNKNOWN_CATEGORY: "categories",
    error_codes.AUTHORITY_NOTHING_ALLOWED: "categories",
    error_codes.AUTHORITY_GAG_REFERENCE_MISSING: "gag_reference",
    error_codes.AUTHORITY_NO_SUBJECT: "subjects",
    error_codes.AUTHORITY_UNKNOWN_SUBJECT: "subjects",
}


def _actor(request: HttpRequest) -> str:
    return f"staff:{request.user.pk}"


def _require(request: HttpRequest, *perms: str) -> None:
    if not any(request.user.has_perm(perm) for perm in perms):
        raise PermissionDenied


class AuthorityRequestForm(forms.Form):
    authority_name = forms.CharField(
        label=gettext_lazy("Authority"),
        max_length=200,
        help_text=gettext_lazy("The institution, e.g. “Tribunal judiciaire de Lyon”: no one's name."),
    )
    authority_kind = forms.ChoiceField(label=gettext_lazy("Kind of authority"), choices=AuthorityKind.choices)
    legal_basis = forms.CharField(
        label=gettext_lazy("Legal basis"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("The law or order the request relies on (article, decision)."),
    )
    reference = forms.CharField(label=gettext_lazy("Reference of the request"), max_length=100)
    received_on = forms.DateField(
        label=gettext_lazy("Received on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    subjects = forms.CharField(
        label=gettext_lazy("People concerned"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Their ids in Pacte, one per line."),
    )
    categories = forms.MultipleChoiceField(
        label=gettext_lazy("Kinds of data requested"), widget=forms.CheckboxSelectMultiple
    )
    gag = forms.BooleanField(
        label=gettext_lazy("The request forbids telling the people concerned"), required=False
    )
    gag_reference = forms.CharField(
        label=gettext_lazy("Legal reference of the ban on telling"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("Required when telling is forbidden."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        policy = policy_active()
        lang = current_language()
        _purpose, allowed = authority_scope(policy)
        choices = []
        for category_id, category in policy.categories.items():
            label = category.label.get(lang)
            if category_id not in allowed:
                label = _("%(label)s (not for authorities: will not be disclosed)") % {"label": label}
            choices.append((category_id, label))
        self.fields["categories"].choices = choices  # type: ignore[attr-defined]


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason of the rejection"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("The law or the defect of the request; no one's name."),
    )


@staff_member_required
@require_safe
def authority_requests(request: HttpRequest) -> HttpResponse:
    """List the authority requests, newest received first."""
    _require(request, *READ)
    return render(
        request,
        "sharing/staff/authority_list.html",
        {
            "rows": authority_request_list(),
            "can_add": request.user.has_perm("sharing.add_authorityrequest"),
        },
    )


@staff_member_required
@require_http_methods(["GET", "HEAD", "POST"])
def authority_request_new(request: HttpRequest) -> HttpResponse:
    """Record a request from an authority; a second person decides on it."""
    _require(request, "sharing.add_authorityrequest")
    form = AuthorityRequestForm(request.POST or None, initial={"received_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            recorded = authority_request_record(
                authority_name=data["authority_name"],
                authority_kind=data["authority_kind"],
                legal_basis=data["legal_basis"],
                reference=data["reference"],
                received_on=data["received_on"],
                subject_ids=data["subjects"].split(),
                categories=data["categories"],
                gag=data["gag"],
                gag_reference=data["gag_reference"],
                recorded_by=_actor(request),
            )
        except PacteError as error:
            form.add_error(FIELD_OF.get(error.code), str(error.message))
        else:
            messages.success(request, _("Request recorded. Another person must now approve or reject it."))
            return redirect("sharing:authority_request", request_id=recorded.pk)
    return render(
        request,
        "sharing/staff/authority_form.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def _detail(
    request: HttpRequest, item: AuthorityRequest, *, reject_form: RejectForm | None = None, status: int = 200
) -> HttpResponse:
    policy = policy_active()
    lang = current_language()

    def labels(ids: list[str]) -> list[str]:
        return [policy.categories[c].label.get(lang) if c in policy.categories else c for c in ids]

    return render(
        request,
        "sharing/staff/authority_detail.html",
        {
            "item": item,
            "requested": labels(item.categories),
            "people": [
                {"link": link, "disclosed": labels(link.categories_disclosed)}
                for link in item.subjects.order_by("subject_id")
            ],
            "can_decide": request.user.has_perm("sharing.approve_authorityrequest"),
            "is_recorder": item.recorded_by == _actor(request),
            "open": item.state == AuthorityState.RECORDED,
            "reject_form": reject_form or RejectForm(),
        },
        status=status,
    )


@staff_member_required
@require_safe
def authority_request_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    """Show one request: what was asked, of whom, and what was decided and disclosed."""
    _require(request, *READ)
    return _detail(request, access_authority_request(request_id=request_id))


@staff_member_required
@require_POST
def authority_request_decide(request: HttpRequest, request_id: str, action: str) -> HttpResponse:
    """Approve, reject or lift the ban on telling, as a person with the approve permission."""
    _require(request, "sharing.approve_authorityrequest")
    item = access_authority_request(request_id=request_id)
    reject_form = RejectForm(request.POST) if action == "reject" else None
    try:
        if action == "approve":
            authority_request_approve(request=item, approver=_actor(request))
            messages.success(
                request, _("Approved: the kinds of data below may be handed over, and nothing else.")
            )
        elif action == "reject":
            assert reject_form is not None
            if not reject_form.is_valid():
                return _detail(request, item, reject_form=reject_form, status=400)
            authority_request_reject(
                request=item, rejecter=_actor(request), reason=reject_form.cleaned_data["reason"]
            )
            messages.success(request, _("Rejected: nothing was disclosed."))
        else:
            authority_request_gag_lift(request=item, actor=_actor(request))
            messages.success(request, _("The ban on telling is lifted: the people concerned are told now."))
    except PacteError as error:
        messages.error(request, str(error.message))
        return _detail(request, access_authority_request(request_id=request_id), status=error.status)
    return redirect("sharing:authority_request", request_id=item.pk)
