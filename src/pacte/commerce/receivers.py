"""Receivers for django-allauth's signals (allauth is a library, not a Pacte app: no cross-app signals)."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import user_logged_in

from pacte.commerce import cart, services


def cart_merge_at_sign_in(sender: Any, request: Any, user: Any, response: Any = None, **kw: Any) -> None:
    """Merge the visitor's cookie cart into the customer's saved cart, and drop the cookie."""
    cookie = cart.cookie_read(request)
    if cookie.lines:
        services.cart_merge(subject_id=user.subject_id, lines=cookie.lines, nonce=cookie.nonce)
    if cookie.present and response is not None:
        cart.cookie_delete(response)


def connect() -> None:
    user_logged_in.connect(cart_merge_at_sign_in, dispatch_uid="pacte.commerce.cart_merge")
