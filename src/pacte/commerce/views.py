"""The shop's pages: catalogue, product, cart, checkout, and the customer's purchase history.

Every page works without JavaScript: each change is a POST form answered by a redirect (or the page
again with its errors), in the visitor's language.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from pacte.commerce import selectors
from pacte.core.i18n import current_language


def _product_view(product, lang: str) -> dict:
    return {
        "product": product,
        "name": product.name(lang),
        "description": product.description(lang),
    }


@require_safe
def catalogue(request: HttpRequest) -> HttpResponse:
    """List the products and plans on sale."""
    lang = current_language()
    products = [_product_view(product, lang) for product in selectors.product_list()]
    return render(request, "commerce/catalogue.html", {"products": products})


@require_safe
def product(request: HttpRequest, slug: str) -> HttpResponse:
    """Show one product on sale (404 for an unknown or withdrawn one)."""
    found = selectors.product_get(slug=slug)
    if found is None:
        raise Http404
    return render(request, "commerce/product.html", _product_view(found, current_language()))
