"""A real `pacte serve` paid by localstripe's own signed webhooks (separate processes, SQLite files)."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest
from tests.live import Browser, free_port, pacte, start_serve, stop_serve

from pacte.billing.tests.conftest import STRIPE_KEY, WEBHOOK_SECRET, stripe_event, stripe_signed
from pacte.sharing.tests.receivers import local_policy

PAY = textwrap.dedent(
    """
    import uuid, stripe
    from pacte.accounts.services import user_create
    from pacte.billing.flows.payment import payment_start, payment_pay
    from pacte.billing.gateways.base import Payable
    user = user_create(email=uuid.uuid4().hex[:10] + "@example.com", password=None, name="Ada")
    payable = Payable(reference=uuid.uuid4(), subject_id=user.subject_id, amount=1999, currency="EUR",
                      lines=("Plan, 1 month",), customer_name="Ada", customer_email="ada@example.com")
    attempt = payment_start(payable=payable, country="FR", actor="system").attempt
    browser = stripe.StripeClient("{key}", base_addresses={{"api": "{base}"}})
    card = browser.v1.payment_methods.create(params={{"type": "card", "card": {{"number": "4242424242424242",
        "exp_month": 12, "exp_year": 2031, "cvc": "314"}}}})
    payment_pay(attempt_id=attempt.id, payment_method=card.id, actor="system")
    print("RESULT", attempt.id, attempt.gateway_id)
    """
)
STATE = "from pacte.billing.models import PaymentAttempt as P; print('STATE', P.objects.get(pk='{id}').state)"


def _state(home: Path, attempt_id: str, env: dict[str, str]) -> str:
    out = pacte(home, "shell", "-c", STATE.format(id=attempt_id), **env).stdout
    return [line.split()[1] for line in out.splitlines() if line.startswith("STATE ")][0]


@pytest.mark.slow
def test_localstripe_webhooks_reach_a_live_pacte_serve_which_verifies_them(
    localstripe: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    class _Settings:  # local_policy writes the test policy and names it here
        PACTE_POLICY_FILE = ""

    policy = local_policy(_Settings, tmp_path, recipients=("stripe",))
    port = free_port()
    env = {
        # The SDK's calls go through sharing.http: localstripe's host is declared by the test policy.
        "PACTE_POLICY": str(policy),
        "PACTE_SHARING_ALLOW_INSECURE": "1",
        "PACTE_SHARING_ALLOW_PRIVATE_NETWORKS": "1",
        "PACTE_BILLING_GATEWAYS": "stripe=stripe",
        "PACTE_STRIPE_API_BASE": localstripe,
        "PACTE_STRIPE_SECRET_KEY": STRIPE_KEY,
        "PACTE_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"
    proc = start_serve(tmp_path, port, tmp_path / "serve.log", home)
    try:
        # localstripe signs its events with the endpoint's secret and POSTs them, as Stripe does.
        stripe_port = int(localstripe.rsplit(":", 1)[1])
        status, _loc, text = Browser(stripe_port).request(
            "POST",
            "/_config/webhooks/pacte",
            {"url": f"http://127.0.0.1:{port}/billing/webhooks/stripe/", "secret": WEBHOOK_SECRET},
        )
        assert status == 200, text
        out = pacte(home, "shell", "-c", PAY.format(key=STRIPE_KEY, base=localstripe), **env).stdout
        [result] = [line.split()[1:] for line in out.splitlines() if line.startswith("RESULT ")]
        attempt_id, gateway_id = result
        deadline = time.monotonic() + 20
        state = ""
        while time.monotonic() < deadline:
            state = _state(home, attempt_id, env)
            if state == "paid":
                break
            time.sleep(0.5)
        assert state == "paid", (tmp_path / "serve.log").read_text()[-3000:]

        # The same endpoint refuses what localstripe did not sign.
        body, signature = stripe_signed(
            stripe_event(
                "payment_intent.payment_failed", {"id": gateway_id, "amount": 1999, "currency": "eur"}
            ),
            secret="whsec_someone_else",
        )
        status, _loc, text = _post_raw(port, body, signature)
        assert status == 400 and json.loads(text) == {"error": "billing.webhook_forged"}
        assert _state(home, attempt_id, env) == "paid"
    finally:
        stop_serve(proc)
    log = (tmp_path / "serve.log").read_text()
    assert "billing webhook refused: gateway=stripe reason=bad_signature" in log
    assert gateway_id not in log  # no payload, no id in the log lines


def _post_raw(port: int, body: bytes, signature: str) -> tuple[int, str, str]:
    """POST a raw JSON body (tests.live.Browser sends forms only)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST",
        "/billing/webhooks/stripe/",
        body=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json", "Host": "127.0.0.1"},
    )
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, "", text
