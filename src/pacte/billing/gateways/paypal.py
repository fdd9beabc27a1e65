"""The PayPal gateway: Orders v2, Payments v2 and Vault v3 through PayPal's official ``paypal-server-sdk``.

**Where it calls.** The SDK knows two addresses only (``Environment.PRODUCTION``: api-m.paypal.com,
``Environment.SANDBOX``: api-m.sandbox.paypal.com) and takes no custom base URL. Its own extension point is
the ``Configuration`` object handed to ``PaypalServersdkClient(config=…)``, whose ``get_base_uri`` gives the
address of every call (the OAuth2 token included): ``_Configuration`` below returns ``PACTE_PAYPAL_API_BASE``
when it is set (the tests' local PayPal) and the environment's address otherwise.

**The customer's step.** ``payment_create`` creates an order (intent CAPTURE) with ``payment_source.paypal``
and returns, as ``client_secret``, PayPal's approval address (the ``payer-action`` link): the customer's
browser goes there, approves, and comes back to ``PACTE_PAYPAL_RETURN_URL?token=ORDER&PayerID=…``;
``payment_confirm`` then captures the order. The webhook ``PAYMENT.CAPTURE.COMPLETED`` makes it paid.

**Accounts (issue 17 point 4).** PayPal gives a merchant no way to open a PayPal account for a buyer: only
the buyer opens one, on PayPal's pages. What a merchant can hold is a *vault customer*: an id PayPal
generates when the merchant creates a setup token, under which the buyer's approved PayPal wallet is
saved as a payment token (for renewals without the buyer). ``customer_create`` creates that setup token
and returns the customer id; orders then carry it with ``store_in_vault: ON_SUCCESS``, so the wallet is
vaulted under it when the buyer pays. Vault v3 has no "delete customer": ``customer_delete`` deletes every
payment token of the customer, which leaves PayPal holding nothing usable under it (an unapproved setup
token expires by itself).

**Through the gate.** The configuration's HTTP client is ``GateHttpClient`` (``paypal_http.py``): every
request of the SDK goes through ``pacte.sharing.http.send`` to a host the policy declares for the PayPal
recipient, never through the SDK's own ``requests`` session.

**Webhooks** are verified as PayPal's own SDKs did, locally: the certificate named by ``PAYPAL-CERT-URL``
is fetched (only from ``PACTE_PAYPAL_CERT_HOSTS``, through ``pacte.sharing.http``, cached), checked to
chain to a trusted root and to be issued to one of ``PACTE_PAYPAL_CERT_NAMES``, and its key must verify
``PAYPAL-TRANSMISSION-SIG`` (SHA256withRSA) over ``transmission_id|transmission_time|webhook_id|crc32(body)``;
the transmission time must be within ``PACTE_BILLING_WEBHOOK_TOLERANCE`` seconds.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.verification import DNSName, PolicyBuilder, Store, VerificationError
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.money import Money
from paypalserversdk.models.name import Name
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_attributes import PaypalWalletAttributes
from paypalserversdk.models.paypal_wallet_customer_request import PaypalWalletCustomerRequest
from paypalserversdk.models.paypal_wallet_experience_context import PaypalWalletExperienceContext
from paypalserversdk.models.paypal_wallet_vault_instruction import PaypalWalletVaultInstruction
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.models.setup_token_request import SetupTokenRequest
from paypalserversdk.models.setup_token_request_payment_source import SetupTokenRequestPaymentSource
from paypalserversdk.models.vault_experience_context import VaultExperienceContext
from paypalserversdk.models.vault_paypal_wallet_request import VaultPaypalWalletRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

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
from pacte.billing.gateways.paypal_http import GateHttpClient
from pacte.core.errors import PacteError
from pacte.sharing import http as sharing_http

DESCRIPTION_LIMIT = 127  # PayPal's limit on a purchase unit's description and custom_id
EXPONENTS = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0}
CERT_PATH = "/v1/notifications/certs/"
CERT_CACHE_SIZE = 16
HEADER_NAMES = (
    "PAYPAL-TRANSMISSION-ID",
    "PAYPAL-TRANSMISSION-TIME",
    "PAYPAL-CERT-URL",
    "PAYPAL-AUTH-ALGO",
    "PAYPAL-TRANSMISSION-SIG",
)


def to_minor(money: Any) -> int:
    """Return PayPal's ``{currency_code, value}`` (model or dict) in minor units; ``ValueError`` if not exact."""
    currency = str(_field(money, "currency_code")).upper()
    scaled = Decimal(str(_field(money, "value"))) * (10 ** EXPONENTS.get(currency, 2))
    if scaled != scaled.to_integral_value():
        raise ValueError("more decimals than the currency has")
    return int(scaled)


def to_money(currency: str, minor: int) -> Money:
    exponent = EXPONENTS.get(currency.upper(), 2)
    value = Decimal(minor).scaleb(-exponent)
    return Money(currency_code=currency.upper(), value=f"{value:.{exponent}f}")


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _recipient() -> str:
    """The policy recipient the operator set for PayPal (``paypal=RECIPIENT``), else ``paypal``."""
    for choice in app_settings.gateway_choices():
        if choice.gateway == "paypal" and choice.recipient:
            return choice.recipient
    return "paypal"


class _Configuration(Configuration):
    """The SDK's configuration: the base address Pacte is told to use, and the gate as its HTTP client.

    The SDK has no setting for a base address (``get_base_uri``), and its default HTTP client is a
    ``requests`` session: ``create_http_client`` returns ``GateHttpClient`` instead (``paypal_http.py``),
    so every call — the OAuth2 token included — goes through ``sharing.http.send``.
    """

    def __init__(self, *args: Any, api_base: str = "", recipient: str = "paypal", **kwargs: Any) -> None:
        self.api_base = api_base
        self.recipient = recipient
        super().__init__(*args, **kwargs)

    def get_base_uri(self, server: Server = Server.DEFAULT) -> str:
        return self.api_base or str(super().get_base_uri(server))

    def create_http_client(self) -> GateHttpClient:
        return GateHttpClient(
            recipient=self.recipient, timeout=float(self.timeout), response_factory=self.http_response_factory
        )

    def clone_with(self, **overrides: Any) -> Configuration:
        # The SDK's clone would build a plain Configuration (a requests session): Pacte's calls never do.
        raise NotImplementedError("PayPal's configuration is not cloned: build a PayPalGateway instead")


# --- webhook certificates ------------------------------------------------------------------------------

_cert_lock = threading.Lock()
_cert_cache: dict[str, x509.Certificate] = {}
_trust: dict[str, Store] = {}


def certificates_forget() -> None:
    """Forget cached signing certificates and trust stores (tests change them)."""
    with _cert_lock:
        _cert_cache.clear()
        _trust.clear()


def _trust_store(path: str) -> Store:
    with _cert_lock:
        if path not in _trust:
            with open(path, "rb") as roots:
                _trust[path] = Store(x509.load_pem_x509_certificates(roots.read()))
        return _trust[path]


def _cert_url_allowed(url: str) -> bool:
    try:
        parts = urlsplit(url)
        netloc = (parts.netloc or "").lower()
    except ValueError:
        return False
    return (
        parts.scheme in ("https", "http")
        and "@" not in netloc
        and netloc in app_settings.paypal_cert_hosts()
        and parts.path.startswith(CERT_PATH)
        and not parts.query
        and ".." not in parts.path
    )


def signing_certificate(url: str) -> x509.Certificate:
    """Return the verified signing certificate at ``url`` (fetched once, then from the cache).

    Refuses (``WebhookForged``) a URL outside ``PACTE_PAYPAL_CERT_HOSTS`` before anything is fetched, a
    certificate that does not chain to the trust store, is not valid now, or is issued to another name.
    """
    if not _cert_url_allowed(url):
        raise WebhookForged("cert_url_not_allowed")
    with _cert_lock:
        cached = _cert_cache.get(url)
    now = datetime.datetime.now(datetime.UTC)
    if cached is not None and cached.not_valid_before_utc <= now <= cached.not_valid_after_utc:
        return cached

    try:
        answer = sharing_http.send(
            recipient=_recipient(), method="GET", url=url, disclosure=None, timeout=10.0
        )
    except PacteError:
        # SendFailed (no answer) or a refusal of the policy (undeclared host, http, private address).
        raise WebhookForged("cert_unavailable") from None
    if not answer.ok:
        raise WebhookForged("cert_unavailable")
    try:
        chain = x509.load_pem_x509_certificates(answer.content)
    except ValueError:
        raise WebhookForged("cert_malformed") from None
    leaf, intermediates = chain[0], chain[1:]
    store = _trust_store(app_settings.paypal_cert_trust())
    for name in app_settings.paypal_cert_names():
        verifier = PolicyBuilder().store(store).time(now).build_server_verifier(DNSName(name))
        try:
            verifier.verify(leaf, intermediates)
        except VerificationError:
            continue
        break
    else:
        raise WebhookForged("cert_untrusted")
    with _cert_lock:
        if len(_cert_cache) >= CERT_CACHE_SIZE:
            _cert_cache.clear()
        _cert_cache[url] = leaf
    return leaf


def _parse_time(value: str) -> float:
    try:
        moment = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise WebhookForged("malformed") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


# --- the gateway --------------------------------------------------------------------------------------


class PayPalGateway(Gateway):
    """PayPal Checkout (Orders v2): buyer approval at PayPal, capture, refunds, vault customers; signed webhooks."""

    name = "paypal"
    # A setup token carries nothing about the buyer (PayPal makes the customer id); an order carries the
    # e-mail address and name (to prefill PayPal's login), the amount, reference, lines and customer id.
    sends = {
        "customer_create": frozenset(),
        "payment_create": frozenset(
            {"amount", "currency", "reference", "lines", "email", "name", "customer"}
        ),
    }

    def __init__(
        self,
        *,
        api_base: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        timeout: float | None = None,
    ) -> None:
        environment = (
            Environment.PRODUCTION
            if app_settings.paypal_environment() == "production"
            else Environment.SANDBOX
        )
        config = _Configuration(
            api_base=api_base if api_base is not None else app_settings.paypal_api_base(),
            recipient=_recipient(),
            environment=environment,
            timeout=timeout or app_settings.paypal_timeout(),
            max_retries=0,  # a retry is Pacte's, with the same PayPal-Request-Id
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=client_id or app_settings.paypal_client_id() or "missing",
                o_auth_client_secret=client_secret or app_settings.paypal_client_secret() or "missing",
            ),
        )
        self.client = PaypalServersdkClient(config=config)

    def _call(self, function: Callable[..., Any], argument: Any) -> Any:
        """Call an SDK method with its one argument (an options dict, or an id); map its failures."""
        try:
            return function(argument).body
        except ApiException as error:
            status = int(error.response_code or 0)
            if status >= 500 or status == 429:
                raise GatewayUnavailable(f"http_{status}") from None
            details = getattr(error, "details", None) or []
            issue = str(getattr(details[0], "issue", "") or "") if details else ""
            raise GatewayRefused((issue or getattr(error, "name", "") or f"http_{status}").lower()) from None
        except OSError:
            # requests' ConnectionError and Timeout are OSErrors: nothing reached PayPal, or no answer came.
            raise GatewayUnavailable("connection") from None
        except Exception as error:
            # The SDK's OAuth2 manager raises its own exception when no token could be obtained.
            if type(error).__name__ == "AuthValidationException":
                raise GatewayRefused("authentication_failed") from None
            raise

    # --- payments ------------------------------------------------------------------------------
    def payment_create(
        self, *, payload: Mapping[str, Any], idempotency_key: str, capture: bool = True
    ) -> GatewayPayment:
        currency = str(payload["currency"]).upper()
        unit: dict[str, Any] = {
            "amount": AmountWithBreakdown(
                currency_code=currency, value=to_money(currency, int(payload["amount"])).value
            ),
        }
        if payload.get("reference"):
            unit["custom_id"] = str(payload["reference"])[:DESCRIPTION_LIMIT]
        if payload.get("lines"):
            unit["description"] = "; ".join(payload["lines"])[:DESCRIPTION_LIMIT]
        wallet: dict[str, Any] = {
            "experience_context": PaypalWalletExperienceContext(
                return_url=app_settings.paypal_return_url(),
                cancel_url=app_settings.paypal_cancel_url(),
                user_action="PAY_NOW",
                shipping_preference="NO_SHIPPING",
            )
        }
        if payload.get("email"):
            wallet["email_address"] = str(payload["email"])
        if payload.get("name"):
            # PayPal wants given name and surname apart, only to prefill its login page.
            given, _space, surname = str(payload["name"]).strip().partition(" ")
            wallet["name"] = Name(given_name=given, surname=surname) if surname else Name(given_name=given)
        if payload.get("customer"):
            wallet["attributes"] = PaypalWalletAttributes(
                customer=PaypalWalletCustomerRequest(id=str(payload["customer"])),
                vault=PaypalWalletVaultInstruction(store_in_vault="ON_SUCCESS", usage_type="MERCHANT"),
            )
        order = self._call(
            self.client.orders.create_order,
            {
                "body": OrderRequest(
                    intent=CheckoutPaymentIntent.CAPTURE if capture else CheckoutPaymentIntent.AUTHORIZE,
                    purchase_units=[PurchaseUnitRequest(**unit)],
                    payment_source=PaymentSource(paypal=PaypalWallet(**wallet)),
                ),
                "paypal_request_id": idempotency_key,
                "prefer": "return=minimal",
            },
        )
        approve = next(
            (str(link.href) for link in order.links or [] if link.rel in ("payer-action", "approve")), ""
        )
        return GatewayPayment(gateway_id=str(order.id), status="requires_action", client_secret=approve)

    def payment_confirm(
        self, *, gateway_id: str, payment_method: str, idempotency_key: str
    ) -> GatewayPayment:
        """Capture the order the buyer approved (``payment_method`` is the PayerID PayPal returned)."""
        order = self._call(
            self.client.orders.capture_order,
            {"id": gateway_id, "paypal_request_id": idempotency_key, "prefer": "return=representation"},
        )
        captures = [
            capture
            for unit in order.purchase_units or []
            for capture in (getattr(getattr(unit, "payments", None), "captures", None) or [])
        ]
        status = str(captures[-1].status) if captures else str(order.status)
        if status in ("DECLINED", "FAILED"):
            raise GatewayRefused("instrument_declined")
        return GatewayPayment(
            gateway_id=gateway_id, status="succeeded" if status == "COMPLETED" else "processing"
        )

    def payment_capture(self, *, gateway_id: str, amount: int | None, idempotency_key: str) -> GatewayPayment:
        return self.payment_confirm(gateway_id=gateway_id, payment_method="", idempotency_key=idempotency_key)

    def _capture_of(self, order_id: str) -> Any:
        order = self._call(self.client.orders.get_order, {"id": order_id})
        for unit in order.purchase_units or []:
            for capture in getattr(getattr(unit, "payments", None), "captures", None) or []:
                if str(capture.status) in ("COMPLETED", "PARTIALLY_REFUNDED"):
                    return capture
        raise GatewayRefused("not_captured")

    def refund_create(self, *, gateway_id: str, amount: int | None, idempotency_key: str) -> GatewayRefund:
        capture = self._capture_of(gateway_id)
        options: dict[str, Any] = {"capture_id": str(capture.id), "paypal_request_id": idempotency_key}
        if amount:
            options["body"] = RefundRequest(amount=to_money(str(capture.amount.currency_code), amount))
        options["prefer"] = "return=representation"
        refund = self._call(self.client.payments.refund_captured_payment, options)
        status = {"COMPLETED": "succeeded", "PENDING": "pending"}.get(str(refund.status), "failed")
        return GatewayRefund(gateway_id=str(refund.id), amount=to_minor(refund.amount), status=status)

    # --- vault customers -------------------------------------------------------------------------
    def customer_create(self, *, payload: Mapping[str, Any], idempotency_key: str) -> str:
        """Create a vault setup token for a PayPal wallet; return the customer id PayPal made for it.

        The setup token takes no e-mail address or name (the buyer identifies themselves at PayPal when
        they approve): nothing of ``payload`` is sent.
        """
        token = self._call(
            self.client.vault.create_setup_token,
            {
                "body": SetupTokenRequest(
                    payment_source=SetupTokenRequestPaymentSource(
                        paypal=VaultPaypalWalletRequest(
                            usage_type="MERCHANT",
                            customer_type="CONSUMER",
                            permit_multiple_payment_tokens=False,
                            experience_context=VaultExperienceContext(
                                return_url=app_settings.paypal_return_url(),
                                cancel_url=app_settings.paypal_cancel_url(),
                                shipping_preference="NO_SHIPPING",
                            ),
                        )
                    )
                ),
                "paypal_request_id": idempotency_key,
            },
        )
        customer = getattr(token, "customer", None)
        if customer is None or not getattr(customer, "id", None):
            raise GatewayRefused("no_customer_id")
        return str(customer.id)

    def customer_delete(self, *, customer_id: str) -> bool:
        """Delete every payment token PayPal vaulted for ``customer_id``; False if PayPal knows no such customer."""
        try:
            listing = self._call(self.client.vault.list_customer_payment_tokens, {"customer_id": customer_id})
        except GatewayRefused as refused:
            if refused.code in ("customer_not_found", "resource_not_found", "http_404"):
                return False
            raise
        for token in getattr(listing, "payment_tokens", None) or []:
            try:
                self._call(self.client.vault.delete_payment_token, str(token.id))
            except GatewayRefused as refused:
                if refused.code not in ("invalid_resource_id", "resource_not_found", "http_404"):
                    raise
        # "Already gone" is tolerated above: check that nothing is left rather than trust it.
        left = self._call(self.client.vault.list_customer_payment_tokens, {"customer_id": customer_id})
        if getattr(left, "payment_tokens", None):
            raise GatewayRefused("payment_tokens_left")
        return True

    def payment_method_details(self, *, token: str) -> CardDetails:
        # A vaulted PayPal wallet has no brand, last 4 digits or expiry: it is not kept as a card.
        raise GatewayRefused("not_a_card")

    # --- webhooks ------------------------------------------------------------------------------
    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        lowered = {str(k).upper(): str(v) for k, v in headers.items()}
        values = [lowered.get(name, "") for name in HEADER_NAMES]
        if not all(values):
            raise WebhookForged("no_signature")
        transmission_id, transmission_time, cert_url, algorithm, signature = values
        if algorithm != "SHA256withRSA":
            raise WebhookForged("bad_algorithm")
        if abs(time.time() - _parse_time(transmission_time)) > app_settings.webhook_tolerance():
            raise WebhookForged("timestamp_outside_tolerance")
        webhook_id = app_settings.paypal_webhook_id()
        if not webhook_id:
            raise WebhookForged("no_webhook_id")
        certificate = signing_certificate(cert_url)
        message = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body)}".encode()
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookForged("bad_algorithm")
        try:
            key.verify(
                base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, binascii.Error, ValueError):
            raise WebhookForged("bad_signature") from None
        return self._normalise(body)

    def _normalise(self, body: bytes) -> GatewayEvent:
        try:
            event = json.loads(body)
            event_id, raw_type = str(event["id"]), str(event["event_type"])
            created = int(_parse_time(str(event["create_time"])))
            resource = event["resource"]
            if not isinstance(resource, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError, WebhookForged):
            raise WebhookForged("malformed") from None
        kinds = {
            "PAYMENT.CAPTURE.COMPLETED": "paid",
            "PAYMENT.CAPTURE.DENIED": "failed",
            "PAYMENT.CAPTURE.DECLINED": "failed",
            "PAYMENT.CAPTURE.REFUNDED": "refunded",
        }
        kind = kinds.get(raw_type)
        if kind is None:
            return GatewayEvent(event_id, "ignored", created, raw_type=raw_type)
        try:
            money = resource["amount"]
            if kind == "refunded":
                money = (resource.get("seller_payable_breakdown") or {}).get("total_refunded_amount") or money
            amount, currency = to_minor(money), str(money["currency_code"]).upper()
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise WebhookForged("malformed") from None
        return GatewayEvent(
            event_id,
            kind,
            created,
            payment_id=self._order_id(resource),
            amount=amount,
            currency=currency,
            raw_type=raw_type,
        )

    def _order_id(self, resource: dict[str, Any]) -> str:
        related = (resource.get("supplementary_data") or {}).get("related_ids") or {}
        if related.get("order_id"):
            return str(related["order_id"])
        # A refund names its capture only (its "up" link): the capture names the order.
        capture_id = str(related.get("capture_id") or "")
        for link in resource.get("links") or []:
            if isinstance(link, dict) and link.get("rel") == "up" and "/captures/" in str(link.get("href")):
                capture_id = str(link["href"]).rstrip("/").rsplit("/", 1)[-1]
        if not capture_id:
            return ""
        try:
            capture = self._call(self.client.payments.get_captured_payment, {"capture_id": capture_id})
        except GatewayUnavailable:
            raise WebhookForged("capture_unavailable") from None  # not applied: PayPal delivers it again
        except GatewayRefused:
            return ""
        related_ids = getattr(getattr(capture, "supplementary_data", None), "related_ids", None)
        return str(getattr(related_ids, "order_id", "") or "")
