"""The sandbox gateway: Pacte's embedded default. Runs in-process, reaches no network, keeps no state.

It pays or declines by card number, like the test cards of real gateways, so that ``make run`` sells
out of the box and the tests can walk every outcome:

==========================  ===========================================================
card number                 outcome
==========================  ===========================================================
4242 4242 4242 4242 (Visa)  paid
5555 5555 5555 4444 (MC)    paid
any other Luhn-valid number paid, unless it ends as below
… ending 0002               declined at payment (``card_declined``)
… ending 9995               declined at payment (``insufficient_funds``)
a number failing Luhn       refused when typed (``invalid_number``)
an expiry in the past       refused when typed (``expired_card``)
==========================  ===========================================================

``payment_method_create`` stands in for the gateway's own card page: it takes the number, expiry and
security code, keeps none of them, and returns a token that encodes only the outcome, the brand, the
last 4 digits and the expiry (what Pacte may keep anyway). Its notifications are signed like Stripe's
(``Pacte-Sandbox-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")``, the secret in the vault's key
store) and go through the same webhook code: enqueued when the caller's transaction commits, then read by
the same flow as ``/billing/webhooks/sandbox/``.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import secrets
import string
import time
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from pacte.billing import app_settings
from pacte.billing.gateways.base import (
    CardDetails,
    Gateway,
    GatewayEvent,
    GatewayPayment,
    GatewayRefund,
    GatewayRefused,
    WebhookForged,
)
from pacte.core.ports import system_secret

SIGNATURE_HEADER = "Pacte-Sandbox-Signature"
SECRET_NAME = "billing-sandbox-webhook"  # noqa: S105 - the name of a secret in the key store


def _letters(length: int) -> str:
    # Letters only: no id the sandbox makes can look like part of a card number in a dump.
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(length))


def luhn_valid(number: str) -> bool:
    """Tell whether ``number`` (digits only) passes the Luhn check that every card number passes."""
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    return "card"


def _sign(body: bytes, timestamp: int) -> str:
    secret = system_secret(SECRET_NAME, length=32)
    digest = hmac.new(secret, b"%d." % timestamp + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _payment_id(amount: int, currency: str) -> str:
    # Stateless: the id carries the amount and currency the sandbox reports back in its notifications.
    return f"sbx_pi_{_letters(20)}_{amount}_{currency}"


def _payment_of(gateway_id: str) -> tuple[int, str]:
    try:
        _prefix, _pi, _rand, amount, currency = gateway_id.split("_")
        return int(amount), currency
    except ValueError:
        raise GatewayRefused("resource_missing") from None


class SandboxGateway(Gateway):
    """Pays or declines by card number; notifies through signed webhooks; sends nothing anywhere."""

    name = "sandbox"
    in_process = True
    # Standing for a processor (``sandbox=RECIPIENT``), it discloses what the Stripe-shaped calls it
    # imitates would send, though nothing leaves Pacte.
    sends = {
        "customer_create": frozenset({"email", "name"}),
        "payment_create": frozenset({"amount", "currency", "reference", "lines", "customer"}),
    }

    def __init__(self, tolerance: int | None = None) -> None:
        self.tolerance = tolerance

    # --- the card page the gateway would show (nothing kept) -------------------------------------
    def card_form(self) -> bool:
        return True

    def payment_method_create(self, *, number: str, exp_month: int, exp_year: int, cvc: str) -> CardDetails:
        """Turn a typed card into a token (the number and security code are dropped here)."""
        digits = "".join(char for char in str(number) if char.isdigit())
        if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
            raise GatewayRefused("invalid_number")
        if not (str(cvc).isdigit() and len(str(cvc)) in (3, 4)):
            raise GatewayRefused("invalid_cvc")
        if exp_year < 100:
            exp_year += 2000
        today = datetime.date.today()
        if not 1 <= exp_month <= 12 or (exp_year, exp_month) < (today.year, today.month):
            raise GatewayRefused("expired_card")
        outcome = "ok"
        if digits.endswith("0002"):
            outcome = "declined"
        elif digits.endswith("9995"):
            outcome = "funds"
        brand, last4 = _brand(digits), digits[-4:]
        token = f"sbx_pm_{outcome}_{brand}_{last4}_{exp_month:02d}{exp_year}_{_letters(12)}"
        return CardDetails(token=token, brand=brand, last4=last4, exp_month=exp_month, exp_year=exp_year)

    def payment_method_details(self, *, token: str) -> CardDetails:
        try:
            _sbx, _pm, _outcome, brand, last4, expiry, _rand = token.split("_")
            return CardDetails(
                token=token, brand=brand, last4=last4, exp_month=int(expiry[:2]), exp_year=int(expiry[2:])
            )
        except ValueError:
            raise GatewayRefused("resource_missing") from None

    # --- payments ------------------------------------------------------------------------------
    def payment_create(
        self, *, payload: Mapping[str, Any], idempotency_key: str, capture: bool = True
    ) -> GatewayPayment:
        gateway_id = _payment_id(int(payload["amount"]), str(payload["currency"]).upper())
        return GatewayPayment(
            gateway_id=gateway_id, status="requires_payment_method", client_secret=f"{gateway_id}_secret"
        )

    def payment_confirm(
        self, *, gateway_id: str, payment_method: str, idempotency_key: str
    ) -> GatewayPayment:
        amount, currency = _payment_of(gateway_id)
        try:
            outcome = payment_method.split("_")[2]
        except IndexError:
            raise GatewayRefused("resource_missing") from None
        if outcome != "ok":
            self._notify("payment_intent.payment_failed", gateway_id, amount, currency)
            raise GatewayRefused("card_declined" if outcome == "declined" else "insufficient_funds")
        self._notify("payment_intent.succeeded", gateway_id, amount, currency)
        return GatewayPayment(gateway_id=gateway_id, status="succeeded")

    def payment_capture(self, *, gateway_id: str, amount: int | None, idempotency_key: str) -> GatewayPayment:
        _payment_of(gateway_id)
        return GatewayPayment(gateway_id=gateway_id, status="succeeded")

    def refund_create(self, *, gateway_id: str, amount: int | None, idempotency_key: str) -> GatewayRefund:
        total, _currency = _payment_of(gateway_id)
        return GatewayRefund(gateway_id=f"sbx_re_{_letters(20)}", amount=amount or total, status="succeeded")

    # --- customers -----------------------------------------------------------------------------
    def customer_create(self, *, payload: Mapping[str, Any], idempotency_key: str) -> str:
        return f"sbx_cus_{_letters(20)}"

    def customer_delete(self, *, customer_id: str) -> bool:
        return customer_id.startswith("sbx_cus_")

    # --- notifications -------------------------------------------------------------------------
    def event_signed(
        self, event: dict[str, Any], *, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """Return the body and headers of a notification, signed as the sandbox signs them."""
        body = json.dumps(event, sort_keys=True).encode()
        return body, {SIGNATURE_HEADER: _sign(body, int(time.time()) if timestamp is None else timestamp)}

    def _notify(self, kind: str, gateway_id: str, amount: int, currency: str) -> None:
        # reason: tasks.py runs these flows (imports them at its top); enqueueing from here is the cycle.
        from pacte.billing.tasks import sandbox_webhook_deliver

        event = {
            "id": f"sbx_evt_{_letters(20)}",
            "type": kind,
            "created": int(time.time()),
            "data": {"object": {"id": gateway_id, "amount": amount, "currency": currency.lower()}},
        }
        body, headers = self.event_signed(event)
        # Like a real gateway, the notification comes after the call, and only if Pacte committed.
        transaction.on_commit(
            lambda: sandbox_webhook_deliver.enqueue(body=body.decode(), signature=headers[SIGNATURE_HEADER])
        )

    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:

        header = headers.get(SIGNATURE_HEADER, "")
        parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise WebhookForged("no_signature") from None
        expected = _sign(body, timestamp).split("v1=", 1)[1]
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise WebhookForged("bad_signature")
        tolerance = self.tolerance if self.tolerance is not None else app_settings.webhook_tolerance()
        if abs(time.time() - timestamp) > tolerance:
            raise WebhookForged("timestamp_outside_tolerance")
        return normalise_stripe_shaped(body)


def normalise_stripe_shaped(body: bytes) -> GatewayEvent:
    """Read a verified Stripe-shaped event (``id``, ``type``, ``created``, ``data.object``) into a ``GatewayEvent``."""
    try:
        event = json.loads(body)
        obj = event["data"]["object"]
        event_id, raw_type, created = str(event["id"]), str(event["type"]), int(event["created"])
    except (ValueError, KeyError, TypeError):
        raise WebhookForged("malformed") from None
    currency = str(obj.get("currency") or "").upper()
    if raw_type == "payment_intent.succeeded":
        amount = obj.get("amount_received") or obj.get("amount")
        return GatewayEvent(
            event_id,
            "paid",
            created,
            payment_id=str(obj.get("id")),
            amount=amount,
            currency=currency,
            raw_type=raw_type,
        )
    if raw_type in ("payment_intent.payment_failed", "payment_intent.canceled"):
        return GatewayEvent(
            event_id,
            "failed",
            created,
            payment_id=str(obj.get("id")),
            amount=obj.get("amount"),
            currency=currency,
            raw_type=raw_type,
        )
    if raw_type == "charge.refunded":
        return GatewayEvent(
            event_id,
            "refunded",
            created,
            payment_id=str(obj.get("payment_intent") or ""),
            amount=obj.get("amount_refunded"),
            currency=currency,
            raw_type=raw_type,
        )
    if raw_type == "customer.deleted":
        return GatewayEvent(
            event_id, "customer_deleted", created, customer_id=str(obj.get("id")), raw_type=raw_type
        )
    return GatewayEvent(event_id, "ignored", created, raw_type=raw_type)
