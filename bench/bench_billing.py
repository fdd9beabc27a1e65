#!/usr/bin/env python
"""Payments/s through the sandbox and through localstripe (Stripe's SDK) with N concurrent customers;
webhook handling (signature check, idempotence row, state) requests/s against a bare POST view, in-process;
then checkouts/s over HTTP against a real `pacte serve` (sandbox gateway), N = 1, 4, 8 customers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import figure  # noqa: E402

ROUNDS = int(os.environ.get("PACTE_BENCH_BILLING_N", "40"))
CHECKOUT_SECONDS = float(os.environ.get("PACTE_BENCH_CHECKOUT_SECONDS", "15"))
SECRET = "whsec_bench"  # noqa: S105


def _localstripe() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = str(Path(sys.executable).parent / "localstripe")
    if not Path(binary).exists():
        binary = shutil.which("localstripe") or "localstripe"
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--from-scratch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}"


def main() -> None:
    import tempfile

    from pacte.sharing.tests.receivers import local_policy

    class _Settings:  # local_policy writes the test policy (localstripe's host declared) and names it here
        PACTE_POLICY_FILE = ""

    # Stripe's SDK goes through the sharing gate: the policy must declare localstripe's loopback host.
    policy = local_policy(_Settings, Path(tempfile.mkdtemp(prefix="billing-bench-")), recipients=("stripe",))
    proc, base = _localstripe()
    os.environ.update(
        PACTE_POLICY=str(policy),
        PACTE_SHARING_ALLOW_INSECURE="1",
        PACTE_SHARING_ALLOW_PRIVATE_NETWORKS="1",
        PACTE_BILLING_GATEWAYS="sandbox stripe=stripe",
        PACTE_STRIPE_API_BASE=base,
        PACTE_STRIPE_SECRET_KEY="sk_test_bench",
        PACTE_STRIPE_WEBHOOK_SECRET=SECRET,
    )
    try:
        run(base)
    finally:
        proc.terminate()
        proc.wait()
    checkouts_http()


def run(base: str) -> None:
    from _django import setup

    setup()
    import stripe
    from django.db import connections
    from django.test import Client, override_settings

    from pacte.accounts.services import user_create
    from pacte.billing.flows.payment import payment_pay, payment_start
    from pacte.billing.flows.webhook import webhook_receive
    from pacte.billing.gateways import gateway_get
    from pacte.billing.gateways.base import Payable
    from pacte.billing.gateways.sandbox import SIGNATURE_HEADER

    browser = stripe.StripeClient("sk_test_bench", base_addresses={"api": base})
    sandbox = gateway_get("sandbox")

    def customer() -> uuid.UUID:
        return user_create(email=f"{uuid.uuid4().hex[:10]}@example.com", password=None, name="Ada").subject_id

    def pay(subject_id: uuid.UUID, gateway: str) -> None:
        payable = Payable(uuid.uuid4(), subject_id, 1999, "EUR", ("Plan",), "Ada", "ada@example.com")
        attempt = payment_start(payable=payable, country="FR", actor="system", gateway=gateway).attempt
        if gateway == "sandbox":
            token = sandbox.payment_method_create(
                number="4242424242424242", exp_month=12, exp_year=2031, cvc="314"
            ).token  # type: ignore[attr-defined]
            payment_pay(attempt_id=attempt.id, payment_method=token, actor="system")
            return
        card = browser.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "314"},
            }
        )
        payment_pay(attempt_id=attempt.id, payment_method=card.id, actor="system")
        intent = browser.v1.payment_intents.retrieve(attempt.gateway_id).to_dict()
        from pacte.billing.tests.conftest import stripe_event, stripe_signed

        body, signature = stripe_signed(stripe_event("payment_intent.succeeded", intent), secret=SECRET)
        assert (
            webhook_receive(gateway="stripe", body=body, headers={"Stripe-Signature": signature}) == "applied"
        )

    def rate(gateway: str, customers: int, total: int) -> float:
        subjects = [customer() for _ in range(customers)]
        for subject_id in subjects:
            pay(subject_id, gateway)  # accounts opened before timing
        errors: list[BaseException] = []

        def worker(subject_id: uuid.UUID, count: int) -> None:
            try:
                for _ in range(count):
                    pay(subject_id, gateway)
            except BaseException as error:  # noqa: BLE001
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker, args=(s, total // customers)) for s in subjects]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        if errors:
            raise errors[0]
        return (total // customers) * customers / elapsed

    for gateway in ("sandbox", "stripe"):
        for n in (1, 4):
            figure(f"payments_{gateway}_{n}_customers", rate(gateway, n, ROUNDS), "payments/s")

    # Webhook handling vs a bare POST view, through Django's full middleware stack, alternated 3 times.
    subject_id = customer()
    payable = Payable(uuid.uuid4(), subject_id, 1999, "EUR", ("Plan",), "Ada", "ada@example.com")
    attempt = payment_start(payable=payable, country="FR", actor="system", gateway="sandbox").attempt
    client = Client()
    with override_settings(ROOT_URLCONF="_billing_urls"):
        results: dict[str, list[float]] = {"webhook": [], "bare": []}
        for _ in range(3):
            events = [
                sandbox.event_signed(  # type: ignore[attr-defined]
                    {
                        "id": f"sbx_evt_{uuid.uuid4().hex}",
                        "type": "payment_intent.payment_failed",
                        "created": int(time.time()),
                        "data": {"object": {"id": attempt.gateway_id, "amount": 1999, "currency": "eur"}},
                    }
                )
                for _ in range(300)
            ]
            start = time.perf_counter()
            for body, headers in events:
                response = client.post(
                    "/billing/webhooks/sandbox/",
                    body,
                    content_type="application/json",
                    headers={SIGNATURE_HEADER: headers[SIGNATURE_HEADER]},
                )
                assert response.status_code == 200
            results["webhook"].append(len(events) / (time.perf_counter() - start))
            start = time.perf_counter()
            for body, _headers in events:
                client.post("/_bench/bare-post/", body, content_type="application/json")
            results["bare"].append(len(events) / (time.perf_counter() - start))
    webhook = sorted(results["webhook"])[1]
    bare = sorted(results["bare"])[1]
    figure("webhook_sandbox_rps", webhook, "req/s")
    figure("bare_post_rps", bare, "req/s")
    figure("webhook_vs_bare_ratio", webhook / bare, "x")


def checkouts_http() -> None:
    """Checkouts/s over HTTP: N customers, each in a loop add to cart → checkout → pay on the sandbox page.

    A real `pacte serve` (2 gunicorn workers, SQLite files). A checkout counts once its pay page says the
    order is paid: the sandbox's signed notification is handled and the invoice issued. The server runs
    the tasks with the immediate backend (the notification is handled in the paying request, right after
    its commit): `pacte serve`'s worker would take it a moment later, off the request.
    """
    import json
    import re
    import subprocess

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from _server import PACTE, pacte_server
    from tests.live import Browser

    immediate = {"PACTE_TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
    with pacte_server(web_workers=2, extra_env=immediate) as server:
        seeded = subprocess.run(
            [*PACTE, "demo", "seed", "--customers", "8", "--json"],
            env=server.env,
            check=True,
            capture_output=True,
            text=True,
        )
        people = json.loads(seeded.stdout)
        port = int(server.base_url.rsplit(":", 1)[1])
        browsers = []
        for index, person in enumerate(people["people"]):
            browser = Browser(port, source=f"127.0.0.{10 + index}")
            status, _location, _page = browser.login(person["email"], people["password"])
            assert status == 302, status
            browsers.append(browser)
        _status, _location, page = browsers[0].request("GET", "/shop/site-audit/")
        product = re.search(r'name="product" value="(\d+)"', page).group(1)  # type: ignore[union-attr]

        def checkout(browser: Browser) -> None:
            _status, _location, page = browser.request("GET", "/shop/site-audit/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            status, _location, _page = browser.request(
                "POST",
                "/shop/cart/",
                {"csrfmiddlewaretoken": token, "action": "add", "product": product, "quantity": "1"},
            )
            assert status in (200, 302), status
            _status, _location, page = browser.request("GET", "/shop/checkout/")
            fields = dict(re.findall(r'name="(csrfmiddlewaretoken|token|quote)" value="([^"]+)"', page))
            status, pay_url, _page = browser.request("POST", "/shop/checkout/", fields)
            assert status == 302 and pay_url.endswith("/pay/"), (status, pay_url)
            path = pay_url.split("127.0.0.1", 1)[-1] if "://" in pay_url else pay_url
            status, _location, _page = browser.submit(
                path, {"number": "4242 4242 4242 4242", "expiry": "12/31", "cvc": "314"}
            )
            assert status == 302, status
            _status, _location, page = browser.request("GET", path)
            assert 'data-state="paid"' in page, page[-2000:]

        for browser in browsers:
            checkout(browser)  # warm-up: one checkout each, not timed
        for customers in (1, 4, 8):
            done = [0] * customers
            errors: list[BaseException] = []
            deadline = time.perf_counter() + CHECKOUT_SECONDS

            def loop(slot: int) -> None:
                try:
                    while time.perf_counter() < deadline:
                        checkout(browsers[slot])
                        done[slot] += 1
                except BaseException as error:  # noqa: BLE001
                    errors.append(error)

            threads = [threading.Thread(target=loop, args=(slot,)) for slot in range(customers)]
            start = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
            if errors:
                raise errors[0]
            figure(f"checkouts_sandbox_http_{customers}_customers", sum(done) / elapsed, "checkouts/s")


if __name__ == "__main__":
    main()
