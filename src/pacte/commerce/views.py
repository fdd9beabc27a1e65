"""The shop's pages: catalogue, product, cart, checkout, and the customer's purchase history.

Every page works without JavaScript: each change is a POST form answered by a redirect, or by the page
again with the refusal explained (status 400) and nothing changed.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from pacte.commerce import cart, error_codes, hooks, interests, selectors, services
from pacte.commerce.models import InterestKind, OrderStatus, Product
from pacte.core.errors import PacteError
from pacte.core.i18n import current_language


def _product_view(product: Product, lang: str) -> dict[str, Any]:
    return {"product": product, "name": product.name(lang), "description": product.description(lang)}


def _subject_id(request: HttpRequest) -> Any:
    user = request.user
    return getattr(user, "subject_id", None) if user.is_authenticated else None


@require_safe
def catalogue(request: HttpRequest) -> HttpResponse:
    """List the products and plans on sale."""
    lang = current_language()
    products = [_product_view(product, lang) for product in selectors.product_list()]
    return render(request, "commerce/catalogue.html", {"products": products})


@require_safe
def product(request: HttpRequest, slug: str) -> HttpResponse:
    """Show one product on sale (404 for an unknown or withdrawn one), with its "Add to cart" form."""
    found = selectors.product_get(slug=slug)
    if found is None:
        raise Http404
    context = _product_view(found, current_language())
    context["can_buy"] = request.user.is_authenticated or cart.cookie_enabled()
    subject_id = _subject_id(request)
    # Recorded only under the policy's interest purpose, never after an objection (interests.py).
    context["can_save"] = subject_id is not None and interests.interest_record(
        subject_id=subject_id, product=found, kind=InterestKind.VIEWED
    )
    context["saved"] = context["can_save"] and interests.interest_saved(subject_id=subject_id, product=found)
    return render(request, "commerce/product.html", context)


def _product_id(value: Any) -> int:
    text = str(value or "").strip()
    if not re.fullmatch(r"[0-9]{1,12}", text):
        raise PacteError(_("This item is not on sale (any more)."), error_codes.PRODUCT_UNAVAILABLE)
    return int(text)


def _cart_change(lines: cart.Lines, request: HttpRequest, subject_id: Any) -> cart.Lines:
    """Apply the posted change to ``lines``, or raise a PacteError saying what was wrong."""
    if subject_id is None and not cart.cookie_enabled():
        raise PacteError(_("Sign in to fill a cart."), error_codes.CART_NOT_KEPT, status=403)
    action = request.POST.get("action", "")
    if action not in ("add", "update", "remove"):
        raise PacteError(_("Use the buttons of the cart page."), error_codes.PRODUCT_INVALID)
    if action == "remove":
        return cart.lines_change(lines, action=action, product_id=_product_id(request.POST.get("product")))
    product = selectors.product_on_sale(product_id=request.POST.get("product"))
    if product is None:
        raise PacteError(_("This item is not on sale (any more)."), error_codes.PRODUCT_UNAVAILABLE)
    quantity = cart.quantity_parse(request.POST.get("quantity", "1"))
    return cart.lines_change(lines, action=action, product_id=product.pk, quantity=quantity)


@require_http_methods(["GET", "HEAD", "POST"])
def cart_page(request: HttpRequest) -> HttpResponse:
    """Show the cart, and add, update or remove an item (POST).

    A visitor's cart is the cookie; a customer's, the database (a cookie still there is dropped, it was
    merged at sign-in). A broken cookie is reset with a word of explanation; withdrawn products leave
    the cart with a message naming them.
    """
    lang = current_language()
    subject_id = _subject_id(request)
    cookie = cart.cookie_read(request)
    lines = selectors.cart_lines_saved(subject_id=subject_id) if subject_id else cookie.lines
    notes: list[str] = []
    if cookie.broken:
        notes.append(_("Your cart could not be read, so it was emptied. Please add your items again."))
    error: PacteError | None = None
    if request.method == "POST":
        try:
            changed = _cart_change(lines, request, subject_id)
        except PacteError as refused:
            error = refused
        else:
            response: HttpResponse = redirect("commerce:cart")
            if subject_id:
                services.cart_save(subject_id=subject_id, lines=changed)
                if cookie.present:
                    cart.cookie_delete(response)
            else:
                kept = cart.CookieCart(lines=changed, nonce=cookie.nonce)
                cart.cookie_write(response, kept, secure=request.is_secure())
            messages.success(request, _("Your cart is updated."))
            return response
    view = selectors.cart_view(lines=lines, lang=lang)
    if view.dropped:
        named = [name for name in view.dropped if name]
        notes.append(
            _("Some items are no longer on sale and left your cart: %(names)s.")
            % {"names": ", ".join(named) or _("unknown items")}
        )
        if subject_id:
            services.cart_save(subject_id=subject_id, lines=view.lines)
    context = {
        "view": view,
        "notes": notes,
        "error": error,
        "can_keep": subject_id is not None or cart.cookie_enabled(),
        "max_quantity": cart.MAX_QUANTITY,
    }
    response = render(request, "commerce/cart.html", context, status=error.status if error else 200)
    if subject_id:
        if cookie.present:
            cart.cookie_delete(response)
    elif cookie.broken or view.dropped or (cookie.present and not cookie.lines):
        cart.cookie_write(
            response, cart.CookieCart(lines=view.lines, nonce=cookie.nonce), secure=request.is_secure()
        )
    return response


def _checkout_context(request: HttpRequest, view: selectors.CartView) -> dict[str, Any]:
    user: Any = request.user
    name, organisation, _address = services._buyer(user)
    return {
        "view": view,
        "buyer_name": name,
        "organisation": organisation,
        "token": services.checkout_token_issue(subject_id=user.subject_id),
        "quote": services.quote_digest(view),
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """Show the order to confirm, priced now; place it (POST) as one order pending payment.

    Submitting the same form twice places one order; a price or cart changed since the page was shown
    shows the page again with the new total (409) instead of charging it.
    """
    lang = current_language()
    user: Any = request.user
    if request.method == "POST":
        try:
            order, created = services.order_place(
                customer=user,
                token=request.POST.get("token", ""),
                quote=request.POST.get("quote", ""),
                lang=lang,
            )
        except PacteError as refused:
            if refused.code == error_codes.CART_EMPTY:
                messages.error(request, refused.message)
                return redirect("commerce:cart")
            view = selectors.cart_view(
                lines=selectors.cart_lines_saved(subject_id=user.subject_id), lang=lang
            )
            context = {**_checkout_context(request, view), "error": refused}
            return render(request, "commerce/checkout.html", context, status=refused.status)
        if created:
            messages.success(
                request,
                _("Thank you: your order %(reference)s is recorded. It waits for your payment.")
                % {"reference": order.reference},
            )
        pay = hooks.pay_page(order) if order.status == OrderStatus.PENDING_PAYMENT else None
        return redirect(pay) if pay else redirect("commerce:order", order_id=order.pk)
    view = selectors.cart_view(lines=selectors.cart_lines_saved(subject_id=user.subject_id), lang=lang)
    if view.dropped:
        services.cart_save(subject_id=user.subject_id, lines=view.lines)
        messages.info(request, _("Some items are no longer on sale and left your cart."))
    if not view.rows:
        messages.info(request, _("Your cart is empty: add something to it first."))
        return redirect("commerce:cart")
    return render(request, "commerce/checkout.html", _checkout_context(request, view))


@login_required
@require_safe
def orders(request: HttpRequest) -> HttpResponse:
    """Purchase history: the customer's orders, newest first (one query)."""
    rows = selectors.order_list(subject_id=_subject_id(request))
    return render(request, "commerce/orders.html", {"orders": rows})


@login_required
@require_safe
def order(request: HttpRequest, order_id: Any) -> HttpResponse:
    """One of the customer's orders, with its lines and amounts (someone else's is not found)."""
    found = selectors.access_order(subject_id=_subject_id(request), order_id=order_id)
    lang = current_language()
    lines = [{"line": line, "name": line.name(lang)} for line in found.lines.all()]
    pay = hooks.pay_page(found) if found.status == OrderStatus.PENDING_PAYMENT else None
    return render(request, "commerce/order.html", {"order": found, "lines": lines, "pay_url": pay})
