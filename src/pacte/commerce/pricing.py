"""Money arithmetic of the shop: integer cents and ``Decimal`` rates, never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class LineAmounts:
    net_cents: int
    vat_cents: int
    gross_cents: int


def line_amounts(*, unit_cents: int, quantity: int, vat_rate: Decimal) -> LineAmounts:
    """Return a line's amounts: net = unit × quantity; VAT = net × rate, rounded half up to the cent."""
    net = int(unit_cents) * int(quantity)
    vat = int((Decimal(net) * Decimal(vat_rate) / Decimal(100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return LineAmounts(net_cents=net, vat_cents=vat, gross_cents=net + vat)


def euros(cents: int, lang: str) -> str:
    """Format cents as a French or English price: ``1 234,50 €`` / ``€1,234.50``."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    if lang == "en":
        return f"{sign}€{whole:,}.{part:02d}"
    grouped = f"{whole:,}".replace(",", "\u202f")
    return f"{sign}{grouped},{part:02d}\u00a0€"
