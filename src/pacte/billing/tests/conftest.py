"""Billing's fixtures: customers, payables, and localstripe as a real separate process."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe
from tests.live import free_port

from pacte.accounts.services import user_create
from pacte.billing.gateways import gateways_reset
from pacte.billing.gateways.base import Payable
from pacte.billing.gateways.paypal import certificates_forget
from pacte.billing.hooks import payment_outcome_register, payment_outcome_unregister
from pacte.sharing.tests.receivers import local_policy

DBS = ["default", "keys", "telemetry"]
WEBHOOK_SECRET = "whsec_test_pacte_billing"  # noqa: S105 - the shared secret of the tests' endpoint
STRIPE_KEY = "sk_test_pacte"


def localstripe_binary() -> str:
    path = Path(sys.executable).parent / "localstripe"
    found = str(path) if path.exists() else shutil.which("localstripe")
    if not found:
        pytest.fail(
            "localstripe is missing: it is a test dependency (pip install localstripe); nothing is skipped."
        )
    return found


# Where the session's localstripe writes its access log (one line per request it received).
LOCALSTRIPE_LOG: dict[str, Path] = {}


def localstripe_requests(since: int = 0) -> list[str]:
    """The request lines (``POST /v1/customers``…) localstripe received after byte ``since`` of its log."""
    with LOCALSTRIPE_LOG["path"].open("rb") as log:
        log.seek(since)
        text = log.read().decode("utf-8", "replace")
    return [" ".join(line.split('"')[1].split()[:2]) for line in text.splitlines() if '"' in line]


def localstripe_log_size() -> int:
    return LOCALSTRIPE_LOG["path"].stat().st_size


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start localstripe (the local Stripe server) on a free port for the session; kill it after."""
    port = free_port()
    log = tmp_path_factory.mktemp("localstripe") / "localstripe.log"
    LOCALSTRIPE_LOG["path"] = log
    with log.open("w") as out:
        proc = subprocess.Popen(
            [localstripe_binary(), "--port", str(port), "--from-scratch"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"localstripe stopped at start:\n{log.read_text()}")
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"localstripe did not answer:\n{log.read_text()}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def stripe_gateway(settings: Any, localstripe: str, tmp_path: Path) -> Iterator[str]:
    """Make Stripe (at localstripe) the operator's only gateway; return localstripe's address.

    The SDK's calls go through ``sharing.http``: the test policy declares localstripe's host
    (127.0.0.1) for the ``stripe`` recipient, which the real policy does not.
    """

    local_policy(settings, tmp_path, recipients=("stripe",))
    settings.PACTE_BILLING_GATEWAYS = "stripe=stripe"
    settings.PACTE_STRIPE_API_BASE = localstripe
    settings.PACTE_STRIPE_SECRET_KEY = STRIPE_KEY
    settings.PACTE_STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    gateways_reset()
    yield localstripe
    gateways_reset()


@pytest.fixture(autouse=True)
def _fresh_gateways() -> Iterator[None]:
    gateways_reset()
    yield
    gateways_reset()


def stripe_client(base: str) -> stripe.StripeClient:
    """The client the tests use as the customer's browser (Stripe.js) and to read localstripe's state."""
    return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": base})


def stripe_card(base: str, number: str = "4242424242424242") -> str:
    """Create a card payment method at localstripe, as Stripe.js does in the customer's browser."""
    method = stripe_client(base).v1.payment_methods.create(
        params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "314"}}
    )
    return str(method.id)


def stripe_signed(
    event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[bytes, str]:
    """Sign ``event`` the way Stripe does: ``Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")``."""
    body = json.dumps(event, indent=2, sort_keys=True).encode()
    moment = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), b"%d." % moment + body, hashlib.sha256).hexdigest()
    return body, f"t={moment},v1={digest}"


def stripe_event(kind: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "api_version": "2020-08-27",
        "data": {"object": obj},
    }


@pytest.fixture
def customer() -> Callable[..., uuid.UUID]:
    def make(name: str = "Ada Lovelace") -> uuid.UUID:
        user = user_create(
            email=f"{uuid.uuid4().hex[:12]}@example.com", password="correct horse 42", name=name
        )
        return user.subject_id

    return make


def payable_for(subject_id: uuid.UUID, amount: int = 2500, **changes: Any) -> Payable:
    values: dict[str, Any] = {
        "reference": uuid.uuid4(),
        "subject_id": subject_id,
        "amount": amount,
        "currency": "EUR",
        "lines": ("Hosting, 1 month",),
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
    }
    values.update(changes)
    return Payable(**values)


class Outcomes(list):
    """Every call of the registered outcome callback, as (outcome, reference, amount, refunded)."""


@pytest.fixture
def outcomes() -> Iterator[Outcomes]:

    seen = Outcomes()

    def callback(*, outcome: str, reference: uuid.UUID, amount: int, refunded: int, actor: str) -> None:
        seen.append((outcome, reference, amount, refunded))

    payment_outcome_register(callback)
    yield seen
    payment_outcome_unregister(callback)


# --- PayPal: the local PayPal server (paypal_server.py) as its own process -------------------------------

PAYPAL_CLIENT_ID = "pacte-test-client"
PAYPAL_CLIENT_SECRET = "pacte-test-secret"  # noqa: S105 - the local server's test credentials
PAYPAL_WEBHOOK_ID = "WH-PACTE-TEST"


class LocalPayPal:
    """The running local PayPal: its address, and its test endpoints (state, signing, configuration)."""

    def __init__(self, base: str, ca_file: Path) -> None:
        self.base = base
        self.host = base.split("://", 1)[1]
        self.ca_file = ca_file

    def _raw(self, method: str, url: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        # http.client, not an HTTP library: billing may not import one (one-http-client contract).
        import http.client
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body, headers)
            answer = connection.getresponse()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        finally:
            connection.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        status, _headers, content = self._raw(method, self.base + path, data)
        assert status == 200, content
        return json.loads(content)

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/_test/state")

    def configure(self, **values: str | float) -> None:
        self._call("POST", "/_test/config", values)

    def sign(self, event: dict[str, Any], **options: Any) -> tuple[bytes, dict[str, str]]:
        signed = self._call("POST", "/_test/sign", {"event": event, **options})
        return signed["body"].encode(), signed["headers"]

    def approve(self, approve_url: str, outcome: str = "") -> str:
        """Follow the approval link as the buyer's browser does; return where PayPal sends them back."""
        status, headers, content = self._raw("GET", approve_url + (f"&outcome={outcome}" if outcome else ""))
        assert status == 302, content
        return headers["location"]


@pytest.fixture(scope="session")
def local_paypal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPayPal]:
    """Start the local PayPal server on a free port for the session; stop it after."""
    port = free_port()
    folder = tmp_path_factory.mktemp("paypal")
    log = folder / "paypal.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pacte.billing.tests.paypal_server", "--port", str(port),
             "--client-id", PAYPAL_CLIENT_ID, "--client-secret", PAYPAL_CLIENT_SECRET,
             "--webhook-id", PAYPAL_WEBHOOK_ID],
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            _status, _headers, ca = LocalPayPal(base, folder / "ca.pem")._raw("GET", f"{base}/_test/ca.pem")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the local PayPal did not start:\n{log.read_text()}")
            time.sleep(0.1)
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca)
    try:
        yield LocalPayPal(base, ca_file)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def paypal_settings(paypal: LocalPayPal) -> dict[str, str]:
    """The settings (or environment) that point Pacte's PayPal gateway at the local PayPal."""
    return {
        "PACTE_BILLING_GATEWAYS": "paypal=paypal",
        "PACTE_PAYPAL_API_BASE": paypal.base,
        "PACTE_PAYPAL_CLIENT_ID": PAYPAL_CLIENT_ID,
        "PACTE_PAYPAL_CLIENT_SECRET": PAYPAL_CLIENT_SECRET,
        "PACTE_PAYPAL_WEBHOOK_ID": PAYPAL_WEBHOOK_ID,
        "PACTE_PAYPAL_CERT_HOSTS": paypal.host,
        "PACTE_PAYPAL_CERT_TRUST": str(paypal.ca_file),
        "PACTE_PAYPAL_RETURN_URL": "http://127.0.0.1:8000/account/orders/",
    }


@pytest.fixture
def paypal_gateway(settings: Any, local_paypal: LocalPayPal, tmp_path: Path) -> Iterator[LocalPayPal]:
    """Make PayPal (at the local PayPal) the operator's only gateway, its loopback host declared by the policy."""

    local_policy(settings, tmp_path, recipients=("paypal",))
    for name, value in paypal_settings(local_paypal).items():
        setattr(settings, name, value)
    local_paypal.configure(webhook_url="", webhook_id=PAYPAL_WEBHOOK_ID, webhook_delay=0.0)
    certificates_forget()
    gateways_reset()
    yield local_paypal
    certificates_forget()
    gateways_reset()
