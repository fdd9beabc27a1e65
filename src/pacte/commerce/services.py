"""Writes of commerce: the catalogue, carts, orders and their states."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from pacte.commerce import app_settings
from pacte.commerce.cart import MAX_QUANTITY, Lines
from pacte.commerce.models import Cart, CartLine, PlanPeriod, Product, ProductKind

MERGED_KEPT = 20  # how many merged cookie ids a saved cart remembers


@transaction.atomic
def product_save(*, product: Product) -> Product:
    """Validate and save a catalogue entry (staff, through the admin, or the demo seed)."""
    product.full_clean()
    product.save()
    return product


# The demo catalogue: a few services and two plans (slug, kind, period, cents excl. VAT, VAT, FR, EN).
DEMO_CATALOGUE = (
    (
        "site-audit",
        "product",
        "",
        49000,
        "20.0",
        ("Audit de site", "Un audit complet de votre site : performances, accessibilité, vie privée."),
        ("Site audit", "A full audit of your site: performance, accessibility, privacy."),
    ),
    (
        "setup",
        "product",
        "",
        15000,
        "20.0",
        ("Mise en service", "Nous installons et configurons votre espace hébergé."),
        ("Setup", "We install and configure your hosted space."),
    ),
    (
        "training-hour",
        "product",
        "",
        8000,
        "20.0",
        ("Heure de formation", "Une heure de formation en visioconférence avec un expert."),
        ("Training hour", "One hour of video training with an expert."),
    ),
    (
        "ebook-guide",
        "product",
        "",
        1200,
        "5.5",
        ("Guide numérique", "Le guide de la conformité pour les petites boutiques (livre numérique)."),
        ("Digital guide", "The compliance guide for small shops (e-book)."),
    ),
    (
        "plan-essential",
        "plan",
        "month",
        1900,
        "20.0",
        ("Formule Essentielle", "Hébergement, sauvegardes quotidiennes et assistance par e-mail."),
        ("Essential plan", "Hosting, daily backups and e-mail support."),
    ),
    (
        "plan-pro-yearly",
        "plan",
        "year",
        39000,
        "20.0",
        ("Formule Pro (annuelle)", "Tout l’Essentiel, plus l’assistance par téléphone et un audit par an."),
        ("Pro plan (yearly)", "All of Essential, plus phone support and one audit a year."),
    ),
)


def catalogue_demo_seed() -> int:
    """Add the demo catalogue (products already there are left as they are); return how many were added."""
    added = 0
    for position, (slug, kind, period, cents, rate, fr, en) in enumerate(DEMO_CATALOGUE):
        if Product.objects.filter(slug=slug).exists():
            continue
        product_save(
            product=Product(
                slug=slug,
                kind=ProductKind(kind),
                period=PlanPeriod(period) if period else "",
                price_cents=cents,
                vat_rate=Decimal(rate),
                name_fr=fr[0],
                description_fr=fr[1],
                name_en=en[0],
                description_en=en[1],
                position=position,
            )
        )
        added += 1
    return added


# --- Saved carts (signed-in customers) ----------------------------------------------------------------


@transaction.atomic
def cart_save(*, subject_id: Any, lines: Lines) -> Cart:
    """Replace a customer's saved cart with ``lines`` (product id -> quantity, already checked)."""
    cart, _created = Cart.objects.select_for_update().get_or_create(subject_id=subject_id)
    CartLine.objects.filter(cart=cart).delete()
    CartLine.objects.bulk_create(
        CartLine(cart=cart, product_id=pid, quantity=qty, position=index)
        for index, (pid, qty) in enumerate(lines.items())
    )
    cart.save(update_fields=["updated_at"])
    return cart


@transaction.atomic
def cart_merge(*, subject_id: Any, lines: Lines, nonce: str) -> bool:
    """Merge a visitor's cookie cart into the customer's saved cart at sign-in; return whether it changed.

    Quantities of the same product add up (at most 99 each); products beyond the cart's size are left
    out. Merging the same cookie (``nonce``) again changes nothing, so a double sign-in or a retried
    request never doubles the cart.
    """
    if not lines:
        return False
    cart, _created = Cart.objects.select_for_update().get_or_create(subject_id=subject_id)
    if nonce and nonce in cart.merged:
        return False
    saved = dict(CartLine.objects.filter(cart=cart).values_list("product_id", "quantity"))
    merged = dict(saved)
    for pid, qty in lines.items():
        if pid in merged:
            merged[pid] = min(MAX_QUANTITY, merged[pid] + qty)
        elif len(merged) < app_settings.cart_max_lines():
            merged[pid] = qty
    existing = set(Product.objects.filter(pk__in=list(merged)).values_list("pk", flat=True))
    merged = {pid: qty for pid, qty in merged.items() if pid in existing}
    if nonce:
        cart.merged = [*cart.merged, nonce][-MERGED_KEPT:]
        cart.save(update_fields=["merged", "updated_at"])
    if merged == saved:
        return False
    cart_save(subject_id=subject_id, lines=merged)
    return True


def cart_export(subject: Any) -> Any:
    """Yield the lines of a subject's saved cart (for the export)."""
    for line in CartLine.objects.filter(cart__subject=subject).select_related("product"):
        yield {"product": line.product.slug, "quantity": line.quantity}


CART_EXPORT_FIELDS = ("product", "quantity")


def cart_erase(subject: Any) -> int:
    """Delete a subject's saved cart; return how many rows went."""
    deleted, _by_model = Cart.objects.filter(subject=subject).delete()
    return deleted
