"""``{% order_invoices order %}``: the invoice and credit notes of a customer's order, as download links.

Commerce's order page loads this tag: commerce does not import billing (billing is the layer above it).
"""

from __future__ import annotations

from typing import Any

from django import template

from pacte.billing.invoice_selectors import invoice_list_for_order

register = template.Library()


@register.inclusion_tag("billing/_order_invoices.html")
def order_invoices(order: Any) -> dict[str, Any]:
    return {"documents": list(invoice_list_for_order(subject_id=order.subject_id, order_id=order.pk))}
