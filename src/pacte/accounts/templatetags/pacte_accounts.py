"""Template filters of the accounts app."""

from __future__ import annotations

from typing import Any

from django import template

from pacte.accounts.adapter import real_address, user_display_name

register = template.Library()


@register.filter
def real_email(value: Any) -> str:
    """Show the real address behind one of allauth's pseudonym addresses."""
    return str(real_address(str(value)) if value else "")


@register.simple_tag
def person_name(user: Any) -> str:
    """Name a person by the name they gave, or return "" (never their id, never an address)."""
    return user_display_name(user)
