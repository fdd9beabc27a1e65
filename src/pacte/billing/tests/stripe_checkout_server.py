"""A minimal local Stripe Checkout, in front of localstripe (which has no Checkout Sessions), for the tests.

Run as its own process: ``python -m pacte.billing.tests.stripe_checkout_server --port P --upstream URL``.
It answers the Checkout Session endpoints Pacte uses, as Stripe does, and passes every other request to
localstripe unchanged (customers, payment intents, refunds):

* ``POST /v1/checkout/sessions`` (form-encoded like Stripe's API; ``Idempotency-Key`` honoured; the
  ``customer`` must exist at localstripe) → the session, ``status: open``, with its ``url``;
* ``GET /v1/checkout/sessions/{id}``;
* ``GET /c/pay/{id}``: the hosted page (what the buyer's browser is sent to).

Test endpoints: ``POST /_test/complete/{id}`` plays the buyer paying on the hosted page — a real
PaymentIntent for the session's amount and customer is created and confirmed with a test card at
localstripe (so refunds work), the session becomes ``complete``/``paid``, and the unsigned
``checkout.session.completed`` event is returned (the test signs it as Stripe signs webhooks);
``GET /_test/state``: the sessions and every request received (method, path, form keys).
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


class Handler(BaseHTTPRequestHandler):
    upstream: urllib.parse.SplitResult
    base: str
    lock = threading.Lock()
    sessions: dict[str, dict[str, Any]] = {}
    idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
    received: list[dict[str, Any]] = []

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return

    def _reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", _id("req_"))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: str, message: str) -> None:
        self._reply(status, {"error": {"type": "invalid_request_error", "code": code, "message": message}})

    def _upstream(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname or "", self.upstream.port, timeout=30)
        try:
            connection.request(method, path, body or None, headers or {})
            answer = connection.getresponse()
            return answer.status, dict(answer.getheaders()), answer.read()
        finally:
            connection.close()

    def _handle(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        form = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        if not path.startswith("/_test/"):
            with self.lock:
                self.received.append({"method": method, "path": path, "keys": sorted(form)})
        parts = path.strip("/").split("/")
        if path == "/v1/checkout/sessions" and method == "POST":
            return self._session_create(form)
        if parts[:3] == ["v1", "checkout", "sessions"] and len(parts) == 4 and method == "GET":
            session = self.sessions.get(parts[3])
            return (
                self._reply(200, session)
                if session
                else self._error(404, "resource_missing", "No such session")
            )
        if parts[:2] == ["c", "pay"] and method == "GET":
            return self._reply(200, b"<!doctype html><title>Checkout</title>", "text/html")
        if path == "/_test/state":
            with self.lock:
                return self._reply(200, {"sessions": self.sessions, "received": self.received})
        if parts[:2] == ["_test", "complete"] and method == "POST":
            return self._complete(parts[2])
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        status, answer_headers, content = self._upstream(method, self.path, raw, headers)
        return self._reply(status, content, answer_headers.get("Content-Type", "application/json"))

    def _session_create(self, form: dict[str, str]) -> None:
        if not self.headers.get("Authorization", "").startswith("Bearer sk_"):
            return self._error(401, "api_key_invalid", "Invalid API Key provided")
        key = self.headers.get("Idempotency-Key", "")
        with self.lock:
            if key and key in self.idempotent:
                return self._reply(*self.idempotent[key])
        try:
            amount = int(form["line_items[0][price_data][unit_amount]"])
            quantity = int(form.get("line_items[0][quantity]", "1"))
            currency = form["line_items[0][price_data][currency]"]
            name = form["line_items[0][price_data][product_data][name]"]
            success, cancel = form["success_url"], form["cancel_url"]
        except (KeyError, ValueError):
            return self._error(
                400, "parameter_missing", "line_items, success_url and cancel_url are required"
            )
        if form.get("mode") != "payment" or not name or amount <= 0:
            return self._error(400, "parameter_invalid_string", "mode must be payment, with a named line")
        customer = form.get("customer") or None
        if customer:
            status, _headers, _content = self._upstream(
                "GET", f"/v1/customers/{customer}", headers={"Authorization": self.headers["Authorization"]}
            )
            if status != 200:
                return self._error(400, "resource_missing", f"No such customer: '{customer}'")
        session_id = _id("cs_test_")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "url": f"{self.base}/c/pay/{session_id}",
            "amount_total": amount * quantity,
            "currency": currency,
            "customer": customer,
            "client_reference_id": form.get("client_reference_id"),
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "success_url": success,
            "cancel_url": cancel,
            "payment_intent": None,
            "livemode": False,
            "created": int(time.time()),
        }
        with self.lock:
            self.sessions[session_id] = session
            if key:
                self.idempotent[key] = (200, session)
        return self._reply(200, session)

    def _complete(self, session_id: str) -> None:
        session = self.sessions.get(session_id)
        if session is None or session["status"] != "open":
            return self._error(400, "session_not_open", "No open session")
        auth = {"Authorization": "Bearer sk_test_pacte", "Content-Type": "application/x-www-form-urlencoded"}

        def post(path: str, params: dict[str, Any]) -> dict[str, Any]:
            status, _headers, content = self._upstream(
                "POST", path, urllib.parse.urlencode(params).encode(), auth
            )
            assert status == 200, content
            return json.loads(content)

        method = post(
            "/v1/payment_methods",
            {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": 12,
             "card[exp_year]": 2031, "card[cvc]": "314"},
        )  # fmt: skip
        intent_params = {"amount": session["amount_total"], "currency": session["currency"]}
        if session["customer"]:
            intent_params["customer"] = session["customer"]
        intent = post("/v1/payment_intents", intent_params)
        post(f"/v1/payment_intents/{intent['id']}", {"payment_method": method["id"]})
        post(f"/v1/payment_intents/{intent['id']}/confirm", {})
        with self.lock:
            session.update(status="complete", payment_status="paid", payment_intent=intent["id"], url=None)
        event = {
            "id": _id("evt_"),
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "livemode": False,
            "api_version": "2020-08-27",
            "data": {"object": dict(session)},
        }
        return self._reply(200, event)

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="localstripe's address")
    args = parser.parse_args(argv)
    Handler.upstream = urllib.parse.urlsplit(args.upstream)
    Handler.base = f"http://127.0.0.1:{args.port}"
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
