"""The shop's customer-relation pages: testimonials, contact form, items of interest, subscriptions,
and staff's popular items.

Like ``views.py``: no JavaScript needed, every change a POST answered by a redirect or by the page again
with the refusal explained (its status) and nothing changed.
"""

from __future__ import annotations

import uuid
from typing import Any

from allauth.account.adapter import get_adapter
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from pacte.commerce import app_settings, contact, interests, selectors, subscriptions, testimonials
from pacte.commerce.models import TESTIMONIAL_PURPOSE, InterestKind
from pacte.core.errors import PacteError
from pacte.core.i18n import current_language
from pacte.policy.selectors import policy_active


def _purpose_texts(purpose: str, lang: str) -> tuple[str, str]:
    """The purpose's description and its retention's label, in ``lang``."""
    policy = policy_active()
    found = policy.purposes[purpose]
    return found.description.get(lang), policy.retention[found.retention].label.get(lang)


# --- Testimonials ---------------------------------------------------------------------------------------


@require_safe
def testimonial_page(request: HttpRequest) -> HttpResponse:
    """The published testimonials (not found under a policy without the ``testimonials`` purpose)."""
    if not testimonials.testimonials_enabled():
        raise Http404("This site publishes no testimonials.")
    return render(
        request, "commerce/testimonials.html", {"testimonials": testimonials.testimonial_list_public()}
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def testimonial_write(request: HttpRequest) -> HttpResponse:
    """Write a testimonial, signed (with the consent) or anonymous."""
    if not testimonials.testimonials_enabled():
        raise Http404("This site publishes no testimonials.")
    lang = current_language()
    user: Any = request.user
    context: dict[str, Any] = {
        "text": "",
        "name": str(user.name or ""),
        "signed": False,
        "max_length": app_settings.testimonial_max_length(),
        "purpose_description": _purpose_texts(TESTIMONIAL_PURPOSE, lang)[0],
    }
    if request.method == "POST":
        signed = request.POST.get("signed") == "1"
        context.update(text=request.POST.get("text", ""), name=request.POST.get("name", ""), signed=signed)
        try:
            testimonials.testimonial_write(
                customer=user, text=context["text"], signed=signed, name=context["name"], lang=lang
            )
        except PacteError as refused:
            return render(
                request,
                "commerce/testimonial_write.html",
                {**context, "error": refused},
                status=refused.status,
            )
        messages.success(request, _("Thank you: our team will read your testimonial before publishing it."))
        return redirect("commerce:my_testimonials")
    return render(request, "commerce/testimonial_write.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_testimonials(request: HttpRequest) -> HttpResponse:
    """My account → my testimonials, each with its state and a "remove" button (deleted at once)."""
    subject_id = getattr(request.user, "subject_id", None)
    if request.method == "POST":
        try:
            testimonials.testimonial_remove(
                subject_id=subject_id, testimonial_id=_uuid(request.POST.get("remove"))
            )
        except PacteError as refused:
            messages.error(request, refused.message)
        else:
            messages.success(request, _("Your testimonial is removed."))
        return redirect("commerce:my_testimonials")
    rows = [
        {"row": row, "shown": testimonials.testimonial_shown(testimonial=row)}
        for row in testimonials.testimonial_list_mine(subject_id=subject_id)
    ]
    return render(request, "commerce/my_testimonials.html", {"rows": rows})


def _uuid(value: Any) -> Any:
    try:
        return uuid.UUID(str(value or ""))
    except ValueError:
        return None


# --- Contact form ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
def contact_page(request: HttpRequest) -> HttpResponse:
    """The contact form, for visitors and customers (no consent needed: answering is the purpose)."""
    purpose = contact.contact_purpose()
    if purpose is None:
        raise Http404("This site has no contact form.")
    lang = current_language()
    description, retention = _purpose_texts(purpose, lang)
    user: Any = request.user
    values = {"name": "", "email": "", "message": ""}
    if user.is_authenticated:
        values["name"] = str(user.name or "")
    context: dict[str, Any] = {
        "values": values,
        "purpose_description": description,
        "retention": retention,
        "max_length": app_settings.contact_max_length(),
    }
    if request.method == "POST":
        values.update({key: request.POST.get(key, "") for key in values})
        try:
            contact.contact_send(
                name=values["name"],
                email=values["email"],
                message=values["message"],
                lang=lang,
                client=get_adapter(request).get_client_ip(request),
                customer=user if user.is_authenticated else None,
            )
        except PacteError as refused:
            response = render(
                request, "commerce/contact.html", {**context, "error": refused}, status=refused.status
            )
            if refused.status == 429:
                response["Retry-After"] = "3600"
            return response
        return render(request, "commerce/contact.html", {"sent": True})
    return render(request, "commerce/contact.html", context)


# --- Items of interest ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def interest_page(request: HttpRequest) -> HttpResponse:
    """My account → items of interest: see, delete one or all, save one (from a product page), object."""
    lang = current_language()
    subject_id = getattr(request.user, "subject_id", None)
    purpose = interests.interest_purpose()
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "save":
            product = selectors.product_on_sale(product_id=request.POST.get("product"))
            if product is None:
                messages.error(request, _("This item is not on sale (any more)."))
            elif interests.interest_record(subject_id=subject_id, product=product, kind=InterestKind.SAVED):
                messages.success(request, _("Saved for later: find it in your items of interest."))
            else:
                messages.info(
                    request, _("Nothing was saved: this site records no items of interest for you.")
                )
        elif action == "delete":
            interests.interest_delete(subject_id=subject_id, interest_id=request.POST.get("interest", "x"))
            messages.success(request, _("Deleted."))
        elif action == "delete_all":
            interests.interest_delete(subject_id=subject_id)
            messages.success(request, _("All your items of interest are deleted."))
        elif action == "object":
            interests.interest_object(subject_id=subject_id, lang=lang)
            messages.success(
                request, _("Your objection is recorded: your items are deleted and none will be recorded.")
            )
        else:
            messages.error(request, _("Use the buttons of this page."))
        return redirect("commerce:interests")
    context: dict[str, Any] = {
        "purpose": purpose,
        "objected": interests.interest_objected(subject_id=subject_id),
    }
    if purpose is not None:
        context["purpose_description"], context["retention"] = _purpose_texts(purpose, lang)
        context["rows"] = [
            {"row": row, "name": row.product.name(lang)}
            for row in interests.interest_list(subject_id=subject_id)
        ]
    return render(request, "commerce/interests.html", context)


@staff_member_required
@require_safe
def popular_page(request: HttpRequest) -> HttpResponse:
    """Staff: products by how many customers viewed or saved them (counts only, small ones hidden)."""
    lang = current_language()
    items = [{"item": item, "name": item.product.name(lang)} for item in interests.popular_items()]
    return render(
        request, "commerce/popular.html", {"items": items, "threshold": app_settings.popular_min_count()}
    )


# --- Subscriptions --------------------------------------------------------------------------------------


@login_required
@require_safe
def subscription_page(request: HttpRequest) -> HttpResponse:
    """My account → subscriptions, each active one with its "Cancel" link (the first click)."""
    lang = current_language()
    rows = [
        {"row": row, "name": row.plan.name(lang)}
        for row in subscriptions.subscription_list(subject_id=getattr(request.user, "subject_id", None))
    ]
    return render(request, "commerce/subscriptions.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def subscription_cancel(request: HttpRequest, subscription_id: Any) -> HttpResponse:
    """Confirm the cancellation (the second click): effective at the period's end, confirmed by mail."""
    lang = current_language()
    subject_id = getattr(request.user, "subject_id", None)
    found = subscriptions.access_subscription(subject_id=subject_id, subscription_id=subscription_id)
    context = {"subscription": found, "name": found.plan.name(lang)}
    if request.method == "POST":
        try:
            done = subscriptions.subscription_cancel(
                subject_id=subject_id, subscription_id=found.pk, lang=lang
            )
        except PacteError as refused:
            return render(
                request,
                "commerce/subscription_cancel.html",
                {**context, "error": refused},
                status=refused.status,
            )
        messages.success(
            request,
            _("Your subscription is cancelled. It stays active until %(date)s; we sent you a confirmation.")
            % {"date": done.period_end.date().isoformat()},
        )
        return redirect("commerce:subscriptions")
    return render(request, "commerce/subscription_cancel.html", context)
