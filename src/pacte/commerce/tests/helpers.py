"""Shared set-up of commerce's tests: products, verified customers, reading the cart cookie."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.core import signing
from django.test import Client

from pacte.accounts.services import user_create
from pacte.commerce.cart import COOKIE, SALT
from pacte.commerce.models import Product
from pacte.commerce.services import product_save

DBS = ["default", "keys", "telemetry"]
PASSWORD = "une longue phrase de passe"


def product_make(slug: str, cents: int, rate: str = "20.0", **fields: Any) -> Product:
    values: dict[str, Any] = {
        "slug": slug,
        "name_fr": f"{slug} (fr)",
        "name_en": f"{slug} (en)",
        "price_cents": cents,
        "vat_rate": Decimal(rate),
    }
    values.update(fields)
    return product_save(product=Product(**values))


def customer_make(email: str = "lea@example.fr", **fields: Any) -> Any:
    """A customer whose address is verified (so that signing in works)."""
    fields.setdefault("name", "Léa Roux")
    user = user_create(email=email, password=PASSWORD, birth_date=None, **fields)
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def cookie_lines(client: Client) -> list[list[int]] | None:
    """The lines the client's cart cookie holds (None without a cookie)."""
    morsel = client.cookies.get(COOKIE)
    if morsel is None or not morsel.value:
        return None
    return signing.loads(morsel.value, salt=SALT)["l"]


def cookie_forge(payload: Any) -> str:
    """A cookie signed with our key and salt but holding ``payload`` (as only a bug or a thief could)."""
    return signing.dumps(payload, salt=SALT, compress=True)


def staff_client(email: str = "agent@operator.example", lang: str = "en") -> Client:
    """A staff member signed in the only way there is for staff: password, then TOTP."""
    from allauth.mfa.totp.internal.auth import (
        TOTP,
        format_hotp_value,
        generate_totp_secret,
        hotp_value,
        yield_hotp_counters_from_time,
    )

    staff = user_create(email=email, password=PASSWORD, name="Agent", birth_date=None, is_staff=True)
    staff.is_superuser = True
    staff.save(update_fields=["is_superuser"])
    EmailAddress.objects.update_or_create(
        user=staff, email=staff.email, defaults={"verified": True, "primary": True}
    )
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    code = format_hotp_value(hotp_value(secret, list(yield_hotp_counters_from_time())[-1]))
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    return client
