"""``{{ cents|euros }}``: a price in the page's language."""

from __future__ import annotations

from django import template

from pacte.commerce.pricing import euros as format_euros
from pacte.core.i18n import current_language

register = template.Library()


@register.filter
def euros(cents: int | None) -> str:
    return "" if cents is None else format_euros(int(cents), current_language())


@register.filter
def vat(rate: object) -> str:
    """A VAT rate as people write it: 20 %, 5,5 % (French) or 5.5% (English)."""
    text = f"{rate}".rstrip("0").rstrip(".") if "." in f"{rate}" else f"{rate}"
    if current_language() == "en":
        return f"{text}%"
    return f"{text.replace('.', ',')}\u00a0%"
