"""PayPal's SDK talks only through the sharing gate: every request the local PayPal receives (OAuth2 token,
orders, captures, refunds, vault) went through ``sharing.http.send``, and a host the policy does not
declare is refused before anything leaves."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pacte.billing.flows.accounts import gateway_account_close
from pacte.billing.flows.payment import payment_pay, payment_refund, payment_start
from pacte.billing.gateways import gateway_get, gateways_reset
from pacte.billing.gateways.base import GatewayUnavailable
from pacte.billing.models import GatewayCustomer, PaymentAttempt
from pacte.billing.tests.conftest import DBS, payable_for
from pacte.billing.tests.test_paypal import _deliver
from pacte.core.errors import PacteError
from pacte.sharing import http

pytestmark = pytest.mark.django_db(databases=DBS)
REPO = Path(__file__).resolve().parents[4]


def _received(paypal) -> int:  # type: ignore[no-untyped-def]
    """Every request the local PayPal answered: API calls, OAuth2 tokens, certificate fetches."""
    state = paypal.state()
    return len(state["calls"]) + state["tokens_issued"] + state["cert_fetches"]


@pytest.fixture
def seen(monkeypatch) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """Every request that went through ``sharing.http.send``: (recipient, method, path)."""
    calls: list[tuple[str, str, str]] = []
    real_send = http.send

    def counted(**kwargs):  # type: ignore[no-untyped-def]
        calls.append((kwargs["recipient"], kwargs["method"].upper(), urlsplit(kwargs["url"]).path))
        return real_send(**kwargs)

    monkeypatch.setattr(http, "send", counted)
    return calls


def test_every_request_the_local_paypal_receives_went_through_the_gate(
    paypal_gateway, customer, client, seen
) -> None:
    paypal = paypal_gateway
    before = _received(paypal)
    payable = payable_for(customer(), amount=3100)

    started = payment_start(payable=payable, country="FR", actor="system")
    back = parse_qs(urlsplit(paypal.approve(started.client_secret)).query)
    payment_pay(attempt_id=started.attempt.id, payment_method=back["PayerID"][0], actor="system")
    # Its signed webhook: verifying it fetches PayPal's certificate, through the gate too.
    assert (
        _deliver(client, paypal, "PAYMENT.CAPTURE.COMPLETED", started.attempt.gateway_id).status_code == 200
    )
    assert PaymentAttempt.objects.get(pk=started.attempt.id).state == "paid"
    payment_refund(attempt_id=started.attempt.id, amount=1000, actor="system")
    account = GatewayCustomer.objects.get(subject_id=payable.subject_id, gateway="paypal")
    gateway_account_close(holder_subject_id=payable.subject_id, account_id=account.id, actor="system")

    received = _received(paypal) - before
    paths = [path for _recipient, _method, path in seen]
    # token, setup token, order, capture, certificate, get order, refund, list, delete, list tokens
    assert received == len(seen) >= 10
    assert ("GET", "/v1/notifications/certs/CERT-pacte-test") in [(m, p) for _r, m, p in seen]
    assert {recipient for recipient, _method, _path in seen} == {"paypal"}
    assert paths[0] == "/v1/oauth2/token"
    assert ("POST", "/v3/vault/setup-tokens") in [(m, p) for _r, m, p in seen]
    assert ("POST", "/v2/checkout/orders") in [(m, p) for _r, m, p in seen]
    assert paypal.state()["customers"][str(account.customer_ref)]["payment_tokens"] == []


def test_a_paypal_host_the_policy_does_not_declare_is_refused_and_nothing_reaches_it(
    paypal_gateway, settings, seen
) -> None:
    settings.PACTE_POLICY_FILE = str(REPO / "policies" / "plusuite.toml")  # PayPal's own hosts only
    gateways_reset()
    before = _received(paypal_gateway)

    with pytest.raises(PacteError) as refused:
        gateway_get("paypal").customer_create(payload={}, idempotency_key="k-undeclared")

    assert refused.value.code == "sharing.undeclared_host"
    assert len(seen) == 1 and seen[0][2] == "/v1/oauth2/token"  # the first call is refused at the gate
    assert _received(paypal_gateway) == before


def test_paypal_down_is_unavailable_through_the_gate(paypal_gateway, settings, seen) -> None:
    from tests.live import free_port

    settings.PACTE_PAYPAL_API_BASE = f"http://127.0.0.1:{free_port()}"  # declared host, nobody listening
    gateways_reset()
    with pytest.raises(GatewayUnavailable):
        gateway_get("paypal").customer_create(payload={}, idempotency_key="k-down")
    assert [path for _r, _m, path in seen] == ["/v1/oauth2/token"]
