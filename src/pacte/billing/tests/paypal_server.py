"""A small local PayPal: the REST endpoints Pacte uses, in memory, and webhooks signed as PayPal signs them.

Run it as its own process (the tests' ``paypal_server`` fixture does)::

    python -m pacte.billing.tests.paypal_server --port 8765 --client-id ID --client-secret SECRET

Endpoints, as PayPal's REST API answers them (only the fields Pacte reads, plus a few for realism):

- ``POST /v1/oauth2/token`` (HTTP Basic client id/secret, ``grant_type=client_credentials``);
- ``POST /v2/checkout/orders``, ``GET /v2/checkout/orders/{id}``, ``POST /v2/checkout/orders/{id}/capture``;
- ``GET /v2/payments/captures/{id}``, ``POST /v2/payments/captures/{id}/refund``;
- ``POST /v3/vault/setup-tokens``, ``GET /v3/vault/payment-tokens?customer_id=``,
  ``DELETE /v3/vault/payment-tokens/{id}``;
- ``GET /checkoutnow?token=ORDER`` is the buyer's approval page: it approves the order (``&outcome=decline``
  makes its capture declined) and redirects to the order's ``return_url`` with ``token`` and ``PayerID``;
  a browser (``Accept: text/html``) gets a page instead, whose buttons POST ``/checkoutnow/decide``
  (approve, approve with a declined card, or cancel: back to the order's ``cancel_url`` with ``token``);
- ``GET /v1/notifications/certs/{name}``: the certificate (leaf then its issuer, PEM) whose key signs the
  webhooks; ``rogue`` is a self-signed one that no trust store holds.

``PayPal-Request-Id`` makes a POST idempotent. A capture sends ``PAYMENT.CAPTURE.COMPLETED`` (or
``…DENIED``), a refund ``PAYMENT.CAPTURE.REFUNDED``: each is signed (``PAYPAL-TRANSMISSION-SIG`` =
base64 RSA-SHA256 over ``transmission_id|transmission_time|webhook_id|crc32(body)``) and POSTed to the
configured webhook URL, if any, after the answer; every one is kept in ``/_test/state`` ``events``.

Test-only endpoints: ``GET /_test/state`` (everything, with each API call's method, path, whether it carried
personal data, and the keys of its body), ``POST /_test/config`` (``webhook_url``, ``webhook_id``, ``webhook_delay`` in seconds),
``GET /_test/ca.pem`` (the root to trust), ``POST /_test/sign`` (sign any event with ``transmission_time``,
``webhook_id``, ``cert`` = ``main``/``rogue`` or ``cert_url`` of the caller's choosing: the forged and late
notifications of the tests).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import json
import secrets
import string
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_NAME = "messageverificationcerts.sandbox.paypal.com"  # the name PayPal's signing certificate bears
# Calls that carry something about the buyer (their order, e-mail, name, or open a record about them).
PERSONAL_CALLS = {
    ("POST", "/v2/checkout/orders"),
    ("POST", "/v3/vault/setup-tokens"),
    ("POST", "/v3/vault/payment-tokens"),
}


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pid(prefix: str = "", length: int = 17) -> str:
    # Upper-case letters and digits, as PayPal's ids; never a long digit run.
    alphabet = string.ascii_uppercase + string.digits
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        if sum(c.isdigit() for c in value) < 8:
            return prefix + value


def _issue(
    subject: str, key: rsa.RSAPrivateKey, issuer_name: x509.Name | None, issuer_key: Any, *, ca: bool
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = (
            builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
            .add_extension(
                x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
    return builder.sign(issuer_key, hashes.SHA256())


class Keys:
    """A root, the signing certificate it issued, and a rogue self-signed one with the same name."""

    def __init__(self) -> None:
        self.root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.root = _issue("Pacte test PayPal root", self.root_key, None, self.root_key, ca=True)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.leaf = _issue(CERT_NAME, self.key, self.root.subject, self.root_key, ca=False)
        self.rogue_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rogue = _issue(CERT_NAME, self.rogue_key, None, self.rogue_key, ca=False)

    def pem(self, which: str) -> bytes:
        if which == "rogue":
            return self.rogue.public_bytes(serialization.Encoding.PEM)
        return self.leaf.public_bytes(serialization.Encoding.PEM) + self.root.public_bytes(
            serialization.Encoding.PEM
        )

    def private(self, which: str) -> rsa.RSAPrivateKey:
        return self.rogue_key if which == "rogue" else self.key


def _minor(money: dict[str, Any]) -> int:
    return int(Decimal(str(money["value"])) * 100)


def _money(currency: str, minor: int) -> dict[str, str]:
    return {"currency_code": currency, "value": f"{Decimal(minor) / 100:.2f}"}


def _keys_of(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            found.append(prefix + key)
            found.extend(_keys_of(inner, prefix + key + "."))
        return found
    if isinstance(value, list):
        return [k for item in value for k in _keys_of(item, prefix)]
    return []


class PayPal:
    """The server's memory: orders, captures, refunds, vault, calls, sent events."""

    def __init__(self, *, base: str, client_id: str, client_secret: str) -> None:
        self.base = base
        self.client_id, self.client_secret = client_id, client_secret
        self.lock = threading.RLock()
        self.keys = Keys()
        self.tokens: set[str] = set()
        self.orders: dict[str, dict[str, Any]] = {}
        self.captures: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.setup_tokens: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_tokens: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.cert_fetches = 0
        self.idempotent: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.webhook_url = ""
        self.webhook_id = "WH-PACTE-TEST"
        self.webhook_delay = 0.0  # seconds between an event and its delivery (PayPal's are never instant)

    def cert_url(self, which: str = "main") -> str:
        return f"{self.base}/v1/notifications/certs/{'rogue' if which == 'rogue' else 'CERT-pacte-test'}"

    # --- webhooks ---------------------------------------------------------------------------------
    def sign(
        self,
        body: bytes,
        *,
        transmission_time: str | None = None,
        webhook_id: str | None = None,
        cert: str = "main",
        cert_url: str | None = None,
    ) -> dict[str, str]:
        """Return PayPal's signature headers for ``body``."""
        transmission_id = str(uuid.uuid4())
        moment = transmission_time or _iso(_now())
        message = f"{transmission_id}|{moment}|{webhook_id or self.webhook_id}|{zlib.crc32(body)}"
        signature = self.keys.private(cert).sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": moment,
            "PAYPAL-CERT-URL": cert_url or self.cert_url(cert),
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
        }

    def event(self, kind: str, resource_type: str, resource: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"WH-{_pid(length=20)}",
            "event_version": "1.0",
            "create_time": _iso(_now()),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": kind,
            "summary": kind.replace(".", " ").lower(),
            "resource": resource,
        }

    def send_event(self, event: dict[str, Any]) -> None:
        """Sign ``event``, keep it, and POST it to the webhook URL in the background (after the answer)."""
        body = json.dumps(event).encode()
        headers = self.sign(body)
        record = {"id": event["id"], "type": event["event_type"], "body": body.decode(), "headers": headers}
        record["delivered"] = None
        self.events.append(record)
        if self.webhook_url:
            threading.Timer(self.webhook_delay, self._deliver, args=(record, body, headers)).start()

    def _deliver(self, record: dict[str, Any], body: bytes, headers: dict[str, str]) -> None:
        request = urllib.request.Request(
            self.webhook_url,
            data=body,
            method="POST",
            headers={**headers, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - configured by the tests
                record["delivered"] = answer.status
        except urllib.error.HTTPError as error:
            record["delivered"] = error.code
        except OSError as error:
            record["delivered"] = type(error).__name__

    # --- API --------------------------------------------------------------------------------------
    def order_create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        units = body.get("purchase_units") or []
        if body.get("intent") not in ("CAPTURE", "AUTHORIZE") or len(units) != 1:
            return 400, _error("INVALID_REQUEST", "MALFORMED_REQUEST_JSON")
        amount = units[0].get("amount") or {}
        try:
            minor = _minor(amount)
        except (KeyError, ArithmeticError, ValueError):
            return 422, _error("UNPROCESSABLE_ENTITY", "AMOUNT_MISMATCH")
        if minor <= 0:
            return 422, _error("UNPROCESSABLE_ENTITY", "CANNOT_BE_ZERO_OR_NEGATIVE")
        paypal = (body.get("payment_source") or {}).get("paypal") or {}
        context = paypal.get("experience_context") or {}
        attributes = paypal.get("attributes") or {}
        customer_id = ((attributes.get("customer") or {}).get("id")) or ""
        if customer_id and customer_id not in self.customers:
            return 422, _error("UNPROCESSABLE_ENTITY", "INVALID_CUSTOMER_ID")
        order_id = _pid()
        order = {
            "id": order_id,
            "intent": body["intent"],
            "status": "PAYER_ACTION_REQUIRED" if paypal else "CREATED",
            "create_time": _iso(_now()),
            "purchase_units": [
                {
                    "reference_id": units[0].get("reference_id", "default"),
                    "amount": {"currency_code": amount["currency_code"], "value": amount["value"]},
                    "custom_id": units[0].get("custom_id", ""),
                    "description": units[0].get("description", ""),
                    "payments": {"captures": []},
                }
            ],
            "payment_source": {"paypal": {k: v for k, v in paypal.items() if k != "experience_context"}},
            "links": [
                {"href": f"{self.base}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"},
                {
                    "href": f"{self.base}/checkoutnow?token={order_id}",
                    "rel": "payer-action" if paypal else "approve",
                    "method": "GET",
                },
            ],
            "_return_url": context.get("return_url", ""),
            "_cancel_url": context.get("cancel_url", ""),
            "_customer": customer_id,
            "_vault": ((attributes.get("vault") or {}).get("store_in_vault")) == "ON_SUCCESS",
            "_outcome": "",
        }
        self.orders[order_id] = order
        return 200, _public(order)

    def approve(self, order_id: str, outcome: str) -> str | None:
        order = self.orders.get(order_id)
        if order is None or order["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED"):
            return None
        order["status"] = "APPROVED"
        order["_outcome"] = outcome
        order["payer"] = {"payer_id": _pid(length=13), "email_address": "buyer@example.com"}
        query = urllib.parse.urlencode({"token": order_id, "PayerID": order["payer"]["payer_id"]})
        return f"{order['_return_url']}{'&' if '?' in order['_return_url'] else '?'}{query}"

    def cancel(self, order_id: str) -> str | None:
        """The buyer cancels on the approval page: the address PayPal sends them to (the order stays unapproved)."""
        order = self.orders.get(order_id)
        if order is None or order["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED"):
            return None
        query = urllib.parse.urlencode({"token": order_id})
        return f"{order['_cancel_url']}{'&' if '?' in order['_cancel_url'] else '?'}{query}"

    def order_capture(self, order_id: str) -> tuple[int, dict[str, Any]]:
        order = self.orders.get(order_id)
        if order is None:
            return 404, _error("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        if order["status"] == "COMPLETED":
            return 422, _error("UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
        if order["status"] != "APPROVED":
            return 422, _error("UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
        unit = order["purchase_units"][0]
        declined = order["_outcome"] == "decline"
        capture = {
            "id": _pid(),
            "status": "DECLINED" if declined else "COMPLETED",
            "amount": dict(unit["amount"]),
            "final_capture": True,
            "custom_id": unit["custom_id"],
            "create_time": _iso(_now()),
            "supplementary_data": {"related_ids": {"order_id": order_id}},
            "_refunded": 0,
        }
        self.captures[capture["id"]] = capture
        unit["payments"]["captures"].append(_public(capture))
        order["status"] = "COMPLETED"
        if not declined and order["_vault"] and order["_customer"]:
            token = {"id": _pid(length=7), "customer": {"id": order["_customer"]}, "kind": "paypal"}
            self.payment_tokens[token["id"]] = token
            self.customers[order["_customer"]]["payment_tokens"].append(token["id"])
            order["payment_source"]["paypal"]["attributes"] = {
                "vault": {"id": token["id"], "status": "VAULTED", "customer": {"id": order["_customer"]}}
            }
        kind = "PAYMENT.CAPTURE.DENIED" if declined else "PAYMENT.CAPTURE.COMPLETED"
        self.send_event(self.event(kind, "capture", _public(capture)))
        return 201, _public(order)

    def refund(self, capture_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        capture = self.captures.get(capture_id)
        if capture is None:
            return 404, _error("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        if capture["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            return 422, _error("UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED")
        total = _minor(capture["amount"])
        left = total - capture["_refunded"]
        amount = _minor(body["amount"]) if body.get("amount") else left
        if not 0 < amount <= left:
            return 422, _error("UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED")
        capture["_refunded"] += amount
        capture["status"] = "REFUNDED" if capture["_refunded"] == total else "PARTIALLY_REFUNDED"
        currency = capture["amount"]["currency_code"]
        refund = {
            "id": _pid(),
            "status": "COMPLETED",
            "amount": _money(currency, amount),
            "seller_payable_breakdown": {"total_refunded_amount": _money(currency, capture["_refunded"])},
            "create_time": _iso(_now()),
            # As PayPal's: a refund names its capture (the "up" link), not the order.
            "links": [
                {"href": f"{self.base}/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"}
            ],
        }
        self.refunds[refund["id"]] = refund
        self.send_event(self.event("PAYMENT.CAPTURE.REFUNDED", "refund", refund))
        return 201, refund

    def setup_token(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if "paypal" not in (body.get("payment_source") or {}):
            return 400, _error("INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER")
        customer_id = ((body.get("customer") or {}).get("id")) or _pid(length=10)
        self.customers.setdefault(customer_id, {"id": customer_id, "payment_tokens": []})
        token = {
            "id": _pid(length=10),
            "customer": {"id": customer_id},
            "status": "PAYER_ACTION_REQUIRED",
            "payment_source": {"paypal": {}},
        }
        token["links"] = [
            {"href": f"{self.base}/agreements/approve?approval_session_id={token['id']}", "rel": "approve"}
        ]
        self.setup_tokens[token["id"]] = token
        return 200, token

    def tokens_of(self, customer_id: str) -> tuple[int, dict[str, Any]]:
        customer = self.customers.get(customer_id)
        if customer is None:
            return 404, _error("RESOURCE_NOT_FOUND", "CUSTOMER_NOT_FOUND")
        tokens = [
            {"id": t, "customer": {"id": customer_id}, "payment_source": {"paypal": {}}}
            for t in customer["payment_tokens"]
        ]
        return 200, {"customer": {"id": customer_id}, "payment_tokens": tokens, "total_items": len(tokens)}

    def token_delete(self, token_id: str) -> tuple[int, dict[str, Any]]:
        token = self.payment_tokens.pop(token_id, None)
        if token is None:
            return 404, _error("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        self.customers[token["customer"]["id"]]["payment_tokens"].remove(token_id)
        return 204, {}

    def state(self) -> dict[str, Any]:
        return {
            "orders": {k: _public(v) | {"_customer": v["_customer"]} for k, v in self.orders.items()},
            "captures": {k: _public(v) | {"refunded": v["_refunded"]} for k, v in self.captures.items()},
            "refunds": self.refunds,
            "setup_tokens": self.setup_tokens,
            "customers": self.customers,
            "payment_tokens": self.payment_tokens,
            "calls": self.calls,
            "events": self.events,
            "cert_fetches": self.cert_fetches,
            "tokens_issued": len(self.tokens),
        }


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _error(name: str, issue: str) -> dict[str, Any]:
    return {
        "name": name,
        "message": "The requested action could not be performed.",
        "debug_id": _pid(length=13).lower(),
        "details": [{"issue": issue, "description": issue.replace("_", " ").lower()}],
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "PacteFakePayPal/1"
    paypal: PayPal

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return  # quiet: the tests read /_test/state

    def _reply(self, status: int, body: Any = None, *, content_type: str = "application/json") -> None:
        data = b"" if status == 204 else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("paypal-debug-id", _pid(length=13).lower())
        self.end_headers()
        self.wfile.write(data)

    def _approval_page(self, order_id: str) -> None:
        """The buyer's approval page, as a browser sees it: the amount, and approve / decline / cancel."""
        order = self.paypal.orders.get(order_id)
        if order is None or order["status"] not in ("CREATED", "PAYER_ACTION_REQUIRED"):
            return self._reply(404, b"<!doctype html><title>PayPal</title><p>No such order.</p>", content_type="text/html")  # fmt: skip
        amount = order["purchase_units"][0]["amount"]
        token = html.escape(order_id)
        page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Local PayPal: approve</title></head>
<body><h1>Local PayPal</h1><p id="amount">Pay {html.escape(amount["value"])} {html.escape(amount["currency_code"])}</p>
<form method="post" action="/checkoutnow/decide"><input type="hidden" name="token" value="{token}">
<button name="decision" value="approve">Approve and pay</button>
<button name="decision" value="decline">Approve with a card that will be declined</button>
<button name="decision" value="cancel">Cancel and return to the merchant</button></form></body></html>"""
        return self._reply(200, page.encode(), content_type="text/html; charset=utf-8")

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.paypal.tokens

    def _handle(self, method: str) -> None:
        paypal = self.paypal
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path.rstrip("/") or "/", urllib.parse.parse_qs(url.query)
        raw = self._body() if method in ("POST", "PATCH") else b""
        with paypal.lock:
            if path.startswith("/_test/"):
                return self._test(method, path, raw)
            if path == "/checkoutnow" and method == "GET" and "text/html" in self.headers.get("Accept", ""):
                return self._approval_page(query.get("token", [""])[0])
            if path == "/checkoutnow/decide" and method == "POST":
                form = urllib.parse.parse_qs(raw.decode())
                token, decision = form.get("token", [""])[0], form.get("decision", [""])[0]
                if decision == "cancel":
                    target = paypal.cancel(token)
                else:
                    target = paypal.approve(token, "decline" if decision == "decline" else "")
                if target is None:
                    return self._reply(404, {"error": "no such order waiting for approval"})
                self.send_response(303)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if path == "/checkoutnow" and method == "GET":
                target = paypal.approve(query.get("token", [""])[0], query.get("outcome", [""])[0])
                if target is None:
                    return self._reply(404, {"error": "no such order waiting for approval"})
                self.send_response(302)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if path.startswith("/v1/notifications/certs/") and method == "GET":
                paypal.cert_fetches += 1
                which = "rogue" if path.endswith("/rogue") else "main"
                return self._reply(200, paypal.keys.pem(which), content_type="application/x-pem-file")
            if path == "/v1/oauth2/token" and method == "POST":
                return self._token(raw)
            if not self._authorised():
                return self._reply(401, {"error": "invalid_token", "error_description": "Token is invalid"})
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                return self._reply(400, _error("INVALID_REQUEST", "MALFORMED_REQUEST_JSON"))
            personal = (method, path) in PERSONAL_CALLS
            paypal.calls.append(
                {"method": method, "path": path, "personal": personal, "keys": sorted(set(_keys_of(body)))}
            )
            request_id = self.headers.get("PayPal-Request-Id", "")
            if request_id and (path, request_id) in paypal.idempotent:
                return self._reply(*paypal.idempotent[(path, request_id)])
            status, answer = self._route(method, path, query, body)
            if request_id and method == "POST" and status < 300:
                paypal.idempotent[(path, request_id)] = (status, answer)
            return self._reply(status, answer)

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        paypal = self.paypal
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v2/checkout/orders":
            return paypal.order_create(body)
        if parts[:3] == ["v2", "checkout", "orders"] and len(parts) == 4 and method == "GET":
            order = paypal.orders.get(parts[3])
            return (
                (200, _public(order)) if order else (404, _error("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID"))
            )
        if parts[:3] == ["v2", "checkout", "orders"] and parts[4:] == ["capture"] and method == "POST":
            return paypal.order_capture(parts[3])
        if parts[:3] == ["v2", "payments", "captures"] and len(parts) == 4 and method == "GET":
            capture = paypal.captures.get(parts[3])
            return (200, _public(capture)) if capture else (404, _error("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID"))  # fmt: skip
        if parts[:3] == ["v2", "payments", "captures"] and parts[4:] == ["refund"] and method == "POST":
            return paypal.refund(parts[3], body)
        if method == "POST" and path == "/v3/vault/setup-tokens":
            return paypal.setup_token(body)
        if method == "GET" and path == "/v3/vault/payment-tokens":
            return paypal.tokens_of(query.get("customer_id", [""])[0])
        if parts[:3] == ["v3", "vault", "payment-tokens"] and len(parts) == 4 and method == "DELETE":
            return paypal.token_delete(parts[3])
        return 404, _error("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")

    def _token(self, raw: bytes) -> None:
        paypal = self.paypal
        expected = base64.b64encode(f"{paypal.client_id}:{paypal.client_secret}".encode()).decode()
        form = urllib.parse.parse_qs(raw.decode())
        if self.headers.get("Authorization", "") != f"Basic {expected}":
            return self._reply(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})  # fmt: skip
        if form.get("grant_type") != ["client_credentials"]:
            return self._reply(400, {"error": "unsupported_grant_type"})
        token = f"A21AA{secrets.token_urlsafe(32)}"
        paypal.tokens.add(token)
        return self._reply(
            200,
            {"scope": "https://uri.paypal.com/services/payments/payment", "access_token": token,
             "token_type": "Bearer", "app_id": "APP-PACTE", "expires_in": 32400, "nonce": _pid()},
        )  # fmt: skip

    def _test(self, method: str, path: str, raw: bytes) -> None:
        paypal = self.paypal
        if path == "/_test/state":
            return self._reply(200, paypal.state())
        if path == "/_test/ca.pem":
            return self._reply(
                200, paypal.keys.root.public_bytes(serialization.Encoding.PEM), content_type="text/plain"
            )
        body = json.loads(raw or b"{}")
        if path == "/_test/config" and method == "POST":
            paypal.webhook_url = body.get("webhook_url", paypal.webhook_url)
            paypal.webhook_id = body.get("webhook_id", paypal.webhook_id)
            paypal.webhook_delay = float(body.get("webhook_delay", paypal.webhook_delay))
            return self._reply(200, {"webhook_url": paypal.webhook_url, "webhook_id": paypal.webhook_id})
        if path == "/_test/sign" and method == "POST":
            event = body["event"]
            data = json.dumps(event).encode()
            headers = paypal.sign(
                data,
                transmission_time=body.get("transmission_time"),
                webhook_id=body.get("webhook_id"),
                cert=body.get("cert", "main"),
                cert_url=body.get("cert_url"),
            )
            return self._reply(200, {"body": data.decode(), "headers": headers})
        return self._reply(404, {"error": "unknown test endpoint"})

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local PayPal REST server for Pacte's tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", default="pacte-test-client")
    parser.add_argument("--client-secret", default="pacte-test-secret")
    parser.add_argument("--webhook-id", default="WH-PACTE-TEST")
    args = parser.parse_args(argv)
    paypal = PayPal(
        base=f"http://{args.host}:{args.port}", client_id=args.client_id, client_secret=args.client_secret
    )
    paypal.webhook_id = args.webhook_id
    handler = type("BoundHandler", (Handler,), {"paypal": paypal})
    server = ThreadingHTTPServer((args.host, args.port), handler)
    print(f"fake PayPal on {paypal.base}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
