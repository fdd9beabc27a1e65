"""The shop's pages: catalogue, product, cart, checkout, and the customer's purchase history.

Every page works without JavaScript: each change is a POST form answered by a redirect, or by the page
again with the refusal explained (status 400) and nothing changed.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from pacte.commerce import cart, error_codes, selectors, services
from pacte.commerce.models import Product
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
            response = redirect("commerce:cart")
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
