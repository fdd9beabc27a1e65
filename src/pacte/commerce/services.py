"""Writes of commerce: the catalogue, carts, orders and their states."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from pacte.commerce.models import PlanPeriod, Product, ProductKind


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
