"""Template filters of the accounts app."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def real_email(value: Any) -> str:
    """Show the real address behind one of allauth's pseudonym addresses."""
    from pacte.accounts.adapter import real_address

    return str(real_address(str(value)) if value else "")
