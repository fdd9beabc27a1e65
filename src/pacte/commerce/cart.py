"""The cart: a visitor's in the strictly-necessary ``cart`` cookie, a customer's in the database.

The cookie holds only product ids and quantities, signed (``django.core.signing``, its own salt) with
its time, and a random id that makes merging it at sign-in idempotent. It lives as long as the policy's
``retention.cart`` says (else the cookie's declared lifetime). A cookie that fails its signature, is too
big or holds anything but 1 to ``cart_max_lines`` (product id, quantity 1–99) pairs is ignored and reset,
never an error page. When the policy declares no ``cart`` cookie (A PLUS C's declares only sessions,
CSRF, language and consent), visitors have no cart: only signed-in customers keep one, in the database.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from pacte.commerce import app_settings, error_codes
from pacte.core.errors import PacteError
from pacte.policy.selectors import policy_active

COOKIE = "cart"
SALT = "pacte.commerce.cart"
MAX_QUANTITY = 99
MAX_COOKIE_CHARS = 1500  # far above 30 lines (≈ 400 characters signed): anything longer was not ours

Lines = dict[int, int]  # product id -> quantity, in the order the customer added them


@dataclass
class CookieCart:
    lines: Lines = field(default_factory=dict)
    nonce: str = ""
    present: bool = False  # the request carried a cart cookie (valid or not)
    broken: bool = False  # it carried one that was tampered with, too big or malformed


def cookie_enabled() -> bool:
    """Tell whether the active policy declares the ``cart`` cookie (else visitors have no cart)."""
    return COOKIE in policy_active().cookies


def cookie_max_age() -> int:
    """Return the cookie's lifetime in seconds: the policy's ``retention.cart``, else the cookie's own."""
    policy = policy_active()
    retention = policy.retention.get("cart")
    duration = retention.duration if retention is not None else policy.cookies[COOKIE].lifetime
    return max(60, int(duration.in_days * 86400))


def lines_valid(raw: Any) -> Lines:
    """Return the lines ``raw`` describes, or raise ValueError unless it is exactly what we write."""
    if not isinstance(raw, list) or len(raw) > app_settings.cart_max_lines():
        raise ValueError("not a short list")
    lines: Lines = {}
    for pair in raw:
        if not (isinstance(pair, list) and len(pair) == 2 and all(type(v) is int for v in pair)):
            raise ValueError("not an (id, quantity) pair")
        product_id, quantity = pair
        if product_id < 1 or not 1 <= quantity <= MAX_QUANTITY or product_id in lines:
            raise ValueError("bad id or quantity")
        lines[product_id] = quantity
    return lines


def cookie_read(request: HttpRequest) -> CookieCart:
    """Read this browser's cart cookie; anything not exactly what we signed reads as broken."""
    raw = request.COOKIES.get(COOKIE)
    if raw is None:
        return CookieCart()
    if not cookie_enabled():
        return CookieCart(present=True)
    try:
        if len(raw) > MAX_COOKIE_CHARS:
            raise ValueError("too big")
        data = signing.loads(raw, salt=SALT, max_age=cookie_max_age())
        if not isinstance(data, dict) or set(data) != {"n", "l"} or not isinstance(data["n"], str):
            raise ValueError("not a cart")
        return CookieCart(lines=lines_valid(data["l"]), nonce=data["n"][:32], present=True)
    except signing.SignatureExpired:
        return CookieCart(present=True)  # simply old: emptied without a word
    except (signing.BadSignature, ValueError, TypeError):
        return CookieCart(present=True, broken=True)


def cookie_write(response: HttpResponse, cart: CookieCart, *, secure: bool) -> None:
    """Store the visitor's cart (or delete the cookie when the cart is empty)."""
    if not cart.lines:
        cookie_delete(response)
        return
    nonce = cart.nonce or secrets.token_urlsafe(12)
    value = signing.dumps(
        {"n": nonce, "l": [[pid, qty] for pid, qty in cart.lines.items()]}, salt=SALT, compress=True
    )
    response.set_cookie(COOKIE, value, max_age=cookie_max_age(), secure=secure, httponly=True, samesite="Lax")


def cookie_delete(response: HttpResponse) -> None:
    response.delete_cookie(COOKIE, samesite="Lax")


def quantity_parse(value: Any) -> int:
    """Return a quantity from a form, or refuse: a whole number from 1 to 99."""
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= MAX_QUANTITY:
        raise PacteError(
            _("Choose a quantity from 1 to %(max)d.") % {"max": MAX_QUANTITY}, error_codes.QUANTITY_INVALID
        )
    return int(text)


def lines_change(lines: Lines, *, action: str, product_id: int, quantity: int = 1) -> Lines:
    """Return the cart after ``action`` (add, update, remove) on ``product_id``; refuse a full cart or
    a quantity above 99. ``lines`` is left as it was."""
    changed = dict(lines)
    if action == "remove":
        changed.pop(product_id, None)
        return changed
    if action == "add":
        quantity += changed.get(product_id, 0)
    if quantity > MAX_QUANTITY:
        raise PacteError(
            _("You can order at most %(max)d of one item.") % {"max": MAX_QUANTITY},
            error_codes.QUANTITY_INVALID,
        )
    if product_id not in changed and len(changed) >= app_settings.cart_max_lines():
        raise PacteError(
            _("Your cart is full (%(max)d different items): order these first.")
            % {"max": app_settings.cart_max_lines()},
            error_codes.CART_FULL,
        )
    changed[product_id] = quantity
    return changed
