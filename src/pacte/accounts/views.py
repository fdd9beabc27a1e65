"""My account: see and change one's details, deactivate, reactivate."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from pacte.accounts import selectors, services
from pacte.accounts.forms import DeactivateForm, OrganisationForm, ProfileForm
from pacte.accounts.models import Organisation, User
from pacte.core.errors import PacteError


def _address_initial(value: object) -> dict:
    address: dict = value if isinstance(value, dict) else {}
    return {
        "address_line": (address.get("lines") or [""])[0],
        "postcode": address.get("postcode", ""),
        "city": address.get("city", ""),
        "country": address.get("country", ""),
    }


def _organisation_initial(org: Organisation) -> dict:
    return {
        "legal_name": str(org.legal_name or ""),
        "registration_number": str(org.registration_number or ""),
        **_address_initial(org.postal_address),
    }


def _initial(user: User) -> dict:
    return {
        "name": str(user.name or ""),
        "phone": str(user.phone or ""),
        **_address_initial(user.postal_address),
        "language": user.language,
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """Show and edit the customer's details; each change is a rectification ledger entry."""
    user = request.user
    assert isinstance(user, User)
    if user.deactivated_at is not None:
        return redirect("accounts:reactivate")
    form = ProfileForm(request.POST or None, initial=_initial(user))
    if request.method == "POST" and form.is_valid():
        changed = services.user_rectify(user=user, changes=form.changes())
        if changed:
            messages.success(request, _("Your details have been updated."))
        else:
            messages.info(request, _("Nothing has changed."))
        return redirect("accounts:account")
    return render(
        request,
        "accounts/account.html",
        {
            "form": form,
            "email": selectors.user_email(user=user),
            "organisations": [
                (org, OrganisationForm(initial=_organisation_initial(org), prefix=f"org-{org.pk}"))
                for org in selectors.organisation_list(administrator=user)
            ],
            "sessions": selectors.session_list(request=request),
            "account_user": user,
        },
    )


@login_required
@require_http_methods(["POST"])
def organisation(request: HttpRequest, organisation_id: str) -> HttpResponse:
    """Change the details of an employer account, for its administrator."""
    user = request.user
    assert isinstance(user, User)
    org = Organisation.objects.filter(pk=organisation_id, administrator=user).first()
    if org is None:
        messages.error(request, _("Only the administrator of this account can change it."))
        return redirect("accounts:account")
    form = OrganisationForm(request.POST, prefix=f"org-{org.pk}")
    if form.is_valid():
        changed = services.organisation_rectify(organisation=org, user=user, changes=form.changes())
        messages.success(
            request, _("Your employer's details have been updated.") if changed else _("Nothing has changed.")
        )
        return redirect("accounts:account")
    return render(
        request,
        "accounts/account.html",
        {
            "form": ProfileForm(initial=_initial(user)),
            "email": selectors.user_email(user=user),
            "organisations": [(org, form)],
            "sessions": selectors.session_list(request=request),
            "account_user": user,
        },
        status=400,
    )


@login_required
@require_http_methods(["POST"])
def sessions_end(request: HttpRequest) -> HttpResponse:
    """End one other session, or every session but this one."""
    if "others" in request.POST:
        ended = services.sessions_end(request=request, others=True)
    else:
        try:
            session_id = int(request.POST.get("session", ""))
        except ValueError:
            session_id = 0
        ended = services.sessions_end(request=request, session_id=session_id)
    if ended:
        messages.success(request, _("Signed out of %(count)s other session(s).") % {"count": ended})
    else:
        messages.info(request, _("That session had already ended."))
    return redirect(reverse("accounts:account") + "#sessions")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def deactivate(request: HttpRequest) -> HttpResponse:
    """Deactivate after confirming the password; every session ends, every e-mail stops."""
    user = request.user
    assert isinstance(user, User)
    form = DeactivateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_deactivate(user=user, password=form.cleaned_data["password"])
        except PacteError as error:
            form.add_error("password", str(error.message))
        else:
            logout(request)
            messages.success(
                request, _("Your account is deactivated. Sign in again within 30 days to reactivate it.")
            )
            return redirect("account_login")
    return render(request, "accounts/deactivate.html", {"form": form})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def reactivate(request: HttpRequest) -> HttpResponse:
    """Offer a deactivated customer who signed in again to reactivate (within 30 days)."""
    user = request.user
    assert isinstance(user, User)
    if user.deactivated_at is None:
        return redirect("accounts:account")
    allowed = selectors.user_can_reactivate(user=user)
    if request.method == "POST" and allowed:
        services.user_reactivate(user=user)
        messages.success(request, _("Welcome back: your account is active again."))
        return redirect("accounts:account")
    if request.method == "POST":
        logout(request)
        return redirect("account_login")
    return render(request, "accounts/reactivate.html", {"allowed": allowed})


def admin_login(request: HttpRequest) -> HttpResponse:
    """Send Django's admin login to allauth's sign-in: one way in, with the second factor, for everyone."""
    target = request.GET.get("next") or "/admin/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/admin/"
    return redirect(reverse("account_login") + "?" + urlencode({"next": target}))
