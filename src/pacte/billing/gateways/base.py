"""What every payment gateway does for Pacte, whatever its API: the interface and the values it speaks.

A gateway never sees a ``Payable`` whole: the flows pass it the ``payload`` that
``pacte.sharing.services.disclose`` returned for the gateway's policy recipient (only the categories
that recipient may receive), and the gateway sends that and nothing else. Card numbers never reach a
gateway object through Pacte in production (the customer types them on the gateway's own page); the
sandbox's ``payment_method_create`` stands in for that page and keeps nothing.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

CURRENCIES = frozenset({"EUR"})


@dataclass(frozen=True)
class Payable:
    """Something a customer pays: what Pacte's other apps (commerce's orders) hand to billing.

    ``reference`` is the id of the thing paid (an order); ``amount`` is in minor units (cents) of
    ``currency``; ``lines`` describe it (one line per item, no personal data); ``customer_name`` and
    ``customer_email`` are what the gateway may receive about the payer, if the policy lets it.
    """

    reference: uuid.UUID
    subject_id: uuid.UUID
    amount: int
    currency: str
    lines: tuple[str, ...]
    customer_name: str
    customer_email: str


@dataclass(frozen=True)
class GatewayPayment:
    """A payment as the gateway holds it: its id there, its normalised status, the customer's step."""

    gateway_id: str
    status: str  # "requires_payment_method", "processing", "succeeded", "failed", "requires_action"
    client_secret: str = ""  # what the customer's browser needs for the gateway's step; never stored
    decline_code: str = ""


@dataclass(frozen=True)
class CardDetails:
    """What Pacte may keep of a payment method (CNIL 2018-303): the gateway's token, brand, last 4, expiry."""

    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class GatewayRefund:
    gateway_id: str
    amount: int
    status: str  # "succeeded", "pending", "failed"


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook, normalised: what happened to which payment, and when the gateway says so.

    ``kind`` is ``paid``, ``failed``, ``refunded`` (``amount`` is then the total refunded so far),
    ``customer_deleted`` or ``ignored``. ``created`` is the gateway's timestamp (seconds since the epoch).
    """

    event_id: str
    kind: str
    created: int
    payment_id: str = ""
    amount: int | None = None
    currency: str = ""
    customer_id: str = ""
    raw_type: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


class GatewayUnavailable(Exception):
    """The gateway did not answer (timeout, connection refused, 5xx): nothing is known to have changed."""


class GatewayRefused(Exception):
    """The gateway answered no (declined card, bad request); ``code`` is its reason, without values."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class WebhookForged(Exception):
    """A webhook whose signature, timestamp or body does not verify; ``reason`` is a code, never the body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Every payload key a gateway may be given (billing.services.payment_data / gateway_account_data).
PAYLOAD_FIELDS = frozenset({"email", "name", "amount", "currency", "lines", "reference", "customer"})


class Gateway(abc.ABC):
    """One payment gateway. Implementations are registered by name in ``pacte.billing.gateways``.

    Every method that sends something about a person takes the ``payload`` of a disclosure: the
    gateway reads the keys it knows (``email``, ``name``, ``amount``, ``currency``, ``lines``,
    ``reference``, ``customer``) and sends nothing else. Methods raise ``GatewayUnavailable`` when the
    gateway cannot be reached and ``GatewayRefused`` when it says no; idempotency keys make retries safe.
    """

    name: ClassVar[str]
    # Whether the gateway runs inside Pacte (nothing leaves, so nothing is disclosed).
    in_process: ClassVar[bool] = False
    # What each call that carries a person's data really sends, as payload keys (``PAYLOAD_FIELDS``):
    # the flows give the call these keys only, and disclose exactly their categories. A key the call
    # does not send is neither given to it nor recorded as disclosed.
    sends: ClassVar[Mapping[str, frozenset[str]]] = {}

    def sent_fields(self, call: str) -> frozenset[str]:
        """Return the payload keys ``call`` (``customer_create``, ``payment_create``…) sends to the gateway."""
        return self.sends.get(call, frozenset())

    def card_form(self) -> bool:
        """Tell whether Pacte's own pay page may take a card for this gateway (``payment_method_create``).

        True for the sandbox (nothing leaves Pacte) and for Stripe in test mode only; in production the
        card is typed on the gateway's own page, never on Pacte's.
        """
        return False

    def checkout_hosted(self) -> bool:
        """Tell whether the customer pays on the gateway's hosted page (``checkout_create``) rather than here."""
        return False

    def checkout_create(
        self, *, payload: Mapping[str, Any], idempotency_key: str, success_url: str, cancel_url: str
    ) -> GatewayPayment:
        """Create a hosted checkout for ``payload``; ``client_secret`` is the page to send the buyer to.

        Only where ``checkout_hosted()`` is True. The gateway's webhook says when it is paid.
        """
        raise GatewayRefused("checkout_unavailable")

    def checkout_url(self, *, gateway_id: str) -> str:
        """Return the hosted page of a checkout still open (a second click on Pay), or "" when it is not."""
        return ""

    def payment_method_create(self, *, number: str, exp_month: int, exp_year: int, cvc: str) -> CardDetails:
        """Turn a typed card into the gateway's token (kept nowhere); only where ``card_form()`` is True."""
        raise GatewayRefused("card_form_unavailable")

    @abc.abstractmethod
    def payment_create(
        self, *, payload: Mapping[str, Any], idempotency_key: str, capture: bool = True
    ) -> GatewayPayment:
        """Create a payment of ``payload["amount"]`` ``payload["currency"]``; return it (not yet paid)."""

    @abc.abstractmethod
    def payment_confirm(
        self, *, gateway_id: str, payment_method: str, idempotency_key: str
    ) -> GatewayPayment:
        """Confirm the payment with the customer's ``payment_method`` token; the webhook says if it is paid."""

    @abc.abstractmethod
    def payment_capture(self, *, gateway_id: str, amount: int | None, idempotency_key: str) -> GatewayPayment:
        """Capture an authorised payment (all of it, or ``amount``)."""

    @abc.abstractmethod
    def refund_create(self, *, gateway_id: str, amount: int | None, idempotency_key: str) -> GatewayRefund:
        """Refund a paid payment in full (``amount`` None) or in part."""

    @abc.abstractmethod
    def customer_create(self, *, payload: Mapping[str, Any], idempotency_key: str) -> str:
        """Open the person's customer record at the gateway; return its id there."""

    @abc.abstractmethod
    def customer_delete(self, *, customer_id: str) -> bool:
        """Delete the customer record at the gateway; return False when it was already gone."""

    @abc.abstractmethod
    def payment_method_details(self, *, token: str) -> CardDetails:
        """Return what Pacte may keep of a payment method: token, brand, last 4 digits, expiry."""

    @abc.abstractmethod
    def webhook_parse(self, *, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify the signature and timestamp of a webhook and return it normalised; else ``WebhookForged``."""
