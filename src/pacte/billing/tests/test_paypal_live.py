"""A real `pacte serve` paid by the local PayPal's own signed webhooks, POSTed by that process to Pacte."""

from __future__ import annotations

import textwrap
import time
import types
from pathlib import Path

import pytest
from tests.live import free_port, pacte, start_serve, stop_serve

from pacte.billing.tests.conftest import PAYPAL_WEBHOOK_ID, LocalPayPal, paypal_settings
from pacte.sharing.tests.receivers import local_policy

PAY = textwrap.dedent(
    """
    import uuid
    from urllib.parse import parse_qs, urlsplit
    from pacte.accounts.services import user_create
    from pacte.billing.flows.payment import payment_start, payment_pay
    from pacte.billing.gateways.base import Payable
    from pacte.billing.tests.conftest import LocalPayPal
    user = user_create(email=uuid.uuid4().hex[:10] + "@example.com", password=None, name="Ada")
    payable = Payable(reference=uuid.uuid4(), subject_id=user.subject_id, amount=1999, currency="EUR",
                      lines=("Plan, 1 month",), customer_name="Ada", customer_email="ada@example.com")
    started = payment_start(payable=payable, country="FR", actor="system")
    back = LocalPayPal("{base}", None).approve(started.client_secret)
    payer = parse_qs(urlsplit(back).query)["PayerID"][0]
    payment_pay(attempt_id=started.attempt.id, payment_method=payer, actor="system")
    print("RESULT", started.attempt.id, started.attempt.gateway_id)
    """
)
STATE = "from pacte.billing.models import PaymentAttempt as P; print('STATE', P.objects.get(pk='{id}').state)"


@pytest.mark.slow
def test_the_local_paypal_sends_signed_webhooks_that_a_live_pacte_serve_verifies(
    local_paypal: LocalPayPal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    holder = types.SimpleNamespace()
    env = {
        **paypal_settings(local_paypal),
        "PACTE_POLICY": str(local_policy(holder, tmp_path, recipients=("paypal",))),
        "PACTE_SHARING_ALLOW_INSECURE": "1",
        "PACTE_SHARING_ALLOW_PRIVATE_NETWORKS": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"
    proc = start_serve(tmp_path, port, tmp_path / "serve.log", home)
    try:
        local_paypal.configure(
            webhook_url=f"http://127.0.0.1:{port}/billing/webhooks/paypal/", webhook_id=PAYPAL_WEBHOOK_ID
        )
        out = pacte(home, "shell", "-c", PAY.format(base=local_paypal.base), **env).stdout
        [result] = [line.split()[1:] for line in out.splitlines() if line.startswith("RESULT ")]
        attempt_id, order_id = result
        deadline, state = time.monotonic() + 30, ""
        while time.monotonic() < deadline:
            done = pacte(home, "shell", "-c", STATE.format(id=attempt_id), **env).stdout
            state = [line.split()[1] for line in done.splitlines() if line.startswith("STATE ")][0]
            if state == "paid":
                break
            time.sleep(0.5)
        assert state == "paid", (tmp_path / "serve.log").read_text()[-3000:]
        sent = [e for e in local_paypal.state()["events"] if order_id in e["body"]]
        assert [(e["type"], e["delivered"]) for e in sent] == [("PAYMENT.CAPTURE.COMPLETED", 200)]
    finally:
        local_paypal.configure(webhook_url="")
        stop_serve(proc)
    assert order_id not in (tmp_path / "serve.log").read_text()  # no payload, no id in the log
