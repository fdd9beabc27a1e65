"""The Stripe gateway, on Stripe's official SDK (``stripe.StripeClient``), nothing hand-written.

The client's address is ``PACTE_STRIPE_API_BASE`` (localstripe in the tests); its HTTP client is
``GateHTTPClient`` (``stripe_http.py``), so every call goes through ``sharing.http`` and reaches only a
host the policy declares for the Stripe recipient. With ``PACTE_STRIPE_CHECKOUT=hosted`` (the default with
a live key) the buyer pays on Stripe-hosted Checkout: ``checkout_create`` makes a Checkout Session, the pay
page redirects to its ``url``, and the signed ``checkout.session.completed`` webhook pays the order. Webhooks are verified with ``stripe.Webhook.construct_event`` and the
endpoint's signing secret, within ``PACTE_BILLING_WEBHOOK_TOLERANCE`` seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import stripe

from pacte.billing import app_settings
from pacte.billing.gateways.base import (
    CardDetails,
    Gateway,
    GatewayEvent,
    GatewayPayment,
    GatewayRefund,
    GatewayRefused,
    GatewayUnavailable,
    WebhookForged,
)
from pacte.billing.gateways.sandbox import normalise_stripe_shaped
from pacte.billing.gateways.stripe_http import GateHTTPClient

# Set by a test or a bench that routes Stripe's calls elsewhere: returns a ``stripe.HTTPClient``.
# None: ``GateHTTPClient``, through ``sharing.http`` (never the SDK's own client).
http_client_factory: Callable[[], Any] | None = None


def _recipient() -> str:
    """The policy recipient the operator set for Stripe (``stripe=RECIPIENT``), else ``stripe``."""
    for choice in app_settings.gateway_choices():
        if choice.gateway == "stripe" and choice.recipient:
            return choice.recipient
    return "stripe"


METADATA_LIMIT = 500  # Stripe's limit on one metadata value


CHECKOUT_KINDS = {
    "checkout.session.async_payment_succeeded": "paid",
    "checkout.session.async_payment_failed": "failed",
    "checkout.session.expired": "failed",
}


def normalise_checkout_session(body: bytes) -> GatewayEvent | None:
    """Read a verified ``checkout.session.*`` event into the shared ``GatewayEvent``; None for any other.

    ``checkout.session.completed`` is ``paid`` when its ``payment_status`` is ``paid`` (a card), else
    ``ignored`` (a delayed method: ``async_payment_succeeded`` or ``_failed`` follows). The payment is the
    session (its id is what Pacte holds); the amount is ``amount_total``.
    """
    try:
        event = json.loads(body)
        raw_type = str(event["type"])
        if not raw_type.startswith("checkout.session."):
            return None
        obj = event["data"]["object"]
        event_id, created, session_id = str(event["id"]), int(event["created"]), str(obj["id"])
    except (ValueError, KeyError, TypeError):
        raise WebhookForged("malformed") from None
    if raw_type == "checkout.session.completed":
        kind = "paid" if obj.get("payment_status") in ("paid", "no_payment_required") else "ignored"
    else:
        kind = CHECKOUT_KINDS.get(raw_type, "ignored")
    if kind == "ignored":
        return GatewayEvent(event_id, "ignored", created, raw_type=raw_type)
    amount = obj.get("amount_total")
    return GatewayEvent(
        event_id,
        kind,
        created,
        payment_id=session_id,
        amount=int(amount) if isinstance(amount, int) else None,
        currency=str(obj.get("currency") or "").upper(),
        raw_type=raw_type,
    )


def _status(intent: Any) -> str:
    status = str(intent.status)
    if status == "requires_payment_method" and getattr(intent, "last_payment_error", None):
        return "failed"
    return status


class StripeGateway(Gateway):
    """Stripe Payments: PaymentIntents, Customers, Refunds; webhooks signed with the endpoint secret."""

    name = "stripe"
    # A PaymentIntent carries the amount, the order's reference and lines (metadata) and the customer id,
    # never the e-mail address or name (those are on the Customer, sent once when it is created).
    sends = {
        "customer_create": frozenset({"email", "name"}),
        "payment_create": frozenset({"amount", "currency", "reference", "lines", "customer"}),
        # A Checkout Session: one line item (the order's lines, its total), the reference, the customer id.
        "checkout_create": frozenset({"amount", "currency", "reference", "lines", "customer"}),
    }

    def __init__(
        self, *, http_client: Any = None, api_base: str | None = None, api_key: str | None = None
    ) -> None:
        if http_client is None and http_client_factory is not None:
            http_client = http_client_factory()
        if http_client is None:
            # Pacte's one outbound client: the policy's declared hosts only (gateways/stripe_http.py).
            http_client = GateHTTPClient(recipient=_recipient(), timeout=app_settings.stripe_timeout())
        base = api_base or app_settings.stripe_api_base()
        self.api_key = api_key or app_settings.stripe_secret_key() or "sk_missing"
        self.client = stripe.StripeClient(
            self.api_key,
            base_addresses={"api": base},
            http_client=http_client,
            max_network_retries=app_settings.stripe_max_retries(),
        )

    def _call(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except stripe.APIConnectionError as error:
            raise GatewayUnavailable("connection") from error
        except stripe.CardError as error:
            raise GatewayRefused(str(error.code or "card_declined")) from error
        except stripe.StripeError as error:
            status = getattr(error, "http_status", None) or 0
            if status >= 500 or status == 429:
                raise GatewayUnavailable(f"http_{status}") from error
            raise GatewayRefused(str(getattr(error, "code", None) or f"http_{status}")) from error

    # --- payments ------------------------------------------------------------------------------
    def payment_create(
        self, *, payload: Mapping[str, Any], idempotency_key: str, capture: bool = True
    ) -> GatewayPayment:
        params: dict[str, Any] = {
            "amount": int(payload["amount"]),
            "currency": str(payload["currency"]).lower(),
            "capture_method": "automatic" if capture else "manual",
            "metadata": {"pacte_reference": str(payload.get("reference", ""))},
        }
        if payload.get("lines"):
            # localstripe takes no `description`; metadata carries the order lines on both.
            params["metadata"]["lines"] = "; ".join(payload["lines"])[:METADATA_LIMIT]
        if payload.get("customer"):
            params["customer"] = payload["customer"]
        intent = self._call(
            self.client.v1.payment_intents.create, params=params, options={"idempotency_key": idempotency_key}
        )
        return GatewayPayment(
            gateway_id=intent.id, status=_status(intent), client_secret=intent.client_secret or ""
        )

    def payment_confirm(
        self, *, gateway_id: str, payment_method: str, idempotency_key: str
    ) -> GatewayPayment:
        # Two calls (attach, then confirm): localstripe does not take `payment_method` on confirm.
        self._call(
            self.client.v1.payment_intents.update,
            gateway_id,
            params={"payment_method": payment_method},
            options={"idempotency_key": f"{idempotency_key}-pm"},
        )
        intent = self._call(
            self.client.v1.payment_intents.confirm, gateway_id, options={"idempotency_key": idempotency_key}
        )
        return GatewayPayment(gateway_id=intent.id, status=_status(intent))

    def payment_capture(self, *, gateway_id: str, amount: int | None, idempotency_key: str) -> GatewayPayment:
        params = {"amount_to_capture": amount} if amount else {}
        intent = self._call(
            self.client.v1.payment_intents.capture,
            gateway_id,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return GatewayPayment(gateway_id=intent.id, status=_status(intent))

    def refund_create(self, *, gateway_id: str, amount: int | None, idempotency_key: str) -> GatewayRefund:
        params: dict[str, Any] = {"payment_intent": self._intent_of(gateway_id)}
        if amount:
            params["amount"] = amount
        refund = self._call(
            self.client.v1.refunds.create, params=params, options={"idempotency_key": idempotency_key}
        )
        return GatewayRefund(gateway_id=refund.id, amount=int(refund.amount), status=str(refund.status))

    # --- customers -----------------------------------------------------------------------------
    def customer_create(self, *, payload: Mapping[str, Any], idempotency_key: str) -> str:
        params = {key: str(payload[key]) for key in ("email", "name") if payload.get(key)}
        customer = self._call(
            self.client.v1.customers.create, params=params, options={"idempotency_key": idempotency_key}
        )
        return str(customer.id)

    def customer_delete(self, *, customer_id: str) -> bool:
        try:
            self._call(self.client.v1.customers.delete, customer_id)
        except GatewayRefused as refused:
            if refused.code == "resource_missing" or refused.code == "http_404":
                return False
            raise
        return True

    def card_form(self) -> bool:
        # Stripe accepts raw card numbers from a server in test mode only: in live mode the customer types
        # the card on Stripe's hosted Checkout page (docs/operations.md), never on Pacte's.
        return self.api_key.startswith("sk_test_") and not self.checkout_hosted()

    # --- Stripe-hosted Checkout (live keys: no Stripe.js, the strict CSP holds) -------------------------
    def checkout_hosted(self) -> bool:
        return app_settings.stripe_checkout() == "hosted"

    def checkout_create(
        self, *, payload: Mapping[str, Any], idempotency_key: str, success_url: str, cancel_url: str
    ) -> GatewayPayment:
        """Create a Checkout Session (mode payment) for the payable; its ``url`` is where the buyer pays."""
        reference = str(payload.get("reference", ""))
        name = "; ".join(payload.get("lines") or ()) or reference or "Order"
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": str(payload["currency"]).lower(),
                        "unit_amount": int(payload["amount"]),
                        "product_data": {"name": name[:METADATA_LIMIT]},
                    },
                }
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": reference,
            "metadata": {"pacte_reference": reference},
            "payment_intent_data": {"metadata": {"pacte_reference": reference}},
        }
        if payload.get("customer"):
            params["customer"] = str(payload["customer"])
        session = self._call(
            self.client.v1.checkout.sessions.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        if not session.url:
            raise GatewayRefused("no_checkout_url")
        return GatewayPayment(
            gateway_id=str(session.id), status="requires_action", client_secret=str(session.url)
        )

    def checkout_url(self, *, gateway_id: str) -> str:
        if not gateway_id.startswith("cs_"):
            return ""
        session = self._call(self.client.v1.checkout.sessions.retrieve, gateway_id)
        return str(session.url or "") if str(session.status) == "open" else ""

    def _intent_of(self, gateway_id: str) -> str:
        """The PaymentIntent behind a payment: itself, or the one a paid Checkout Session made."""
        if not gateway_id.startswith("cs_"):
            return gateway_id
        session = self._call(self.client.v1.checkout.sessions.retrieve, gateway_id)
        intent = getattr(session, "payment_intent", None)
        if not intent:
            raise GatewayRefused("not_paid")
        return str(intent if isinstance(intent, str) else intent.id)

    def payment_method_create(self, *, number: str, exp_month: int, exp_year: int, cvc: str) -> CardDetails:
        if not self.card_form():
            raise GatewayRefused("card_form_unavailable")
        method = self._call(
            self.client.v1.payment_methods.create,
            params={
                "type": "card",
                "card": {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc},
            },
        )
        card = method.card
        return CardDetails(
            token=str(method.id),
            brand=str(card.brand),
            last4=str(card.last4),
            exp_month=int(card.exp_month),
            exp_year=int(card.exp_year),
        )

    def payment_method_details(self, *, token: str) -> CardDetails:
        method = self._call(self.client.v1.payment_methods.retrieve, token)
        card = method.card
        return CardDetails(
            token=str(method.id),
            brand=str(card.brand),
            last4=str(card.last4),
            exp_month=int(card.exp_month),
            exp_year=int(card.exp_year),
        )

    # --- webhooks ------------------------------------------------------------------------------
    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        secret = app_settings.stripe_webhook_secret()
        if not secret:
            raise WebhookForged("no_endpoint_secret")
        signature = headers.get("Stripe-Signature") or headers.get("stripe-signature")
        if not signature:
            raise WebhookForged("no_signature")
        try:
            stripe.Webhook.construct_event(
                body.decode("utf-8"), signature, secret, tolerance=app_settings.webhook_tolerance()
            )
        except stripe.SignatureVerificationError as error:
            reason = "timestamp_outside_tolerance" if "tolerance" in str(error) else "bad_signature"
            raise WebhookForged(reason) from None
        except (ValueError, UnicodeDecodeError):
            raise WebhookForged("malformed") from None
        return normalise_checkout_session(body) or normalise_stripe_shaped(body)
