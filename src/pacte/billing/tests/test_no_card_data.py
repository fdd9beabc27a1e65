"""CNIL 2018-303: after a hundred payments with test cards, no database holds a card number or a CVC.

Both ways a database leaves the machine are scanned: ``dumpdata`` of every alias (default, keys,
telemetry) and the raw SQLite files themselves (with their -wal), for any run of 13–19 digits (spaces or
dashes allowed between them) that passes Luhn and starts like a payment card (2–6), and for any field
or key shaped like a security code.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command
from tests.live import pacte

from pacte.billing.flows.payment import payment_pay, payment_start
from pacte.billing.gateways import gateway_get
from pacte.billing.gateways.sandbox import SandboxGateway, luhn_valid
from pacte.billing.models import PaymentAttempt, StoredPaymentMethod
from pacte.billing.tests.conftest import DBS, payable_for, stripe_card

pytestmark = pytest.mark.django_db(databases=DBS)

TEST_CARDS = [
    "4242424242424242",
    "5555555555554444",
    "4000000000000002",
    "4000000000009995",
    "4000056655665556",
]
# uuids (with or without dashes) and hashes are hex, never a card number: blanked before the digit scan.
HEX_RUN = re.compile(
    rb"[0-9a-fA-F]{32,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
DIGIT_RUN = re.compile(rb"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
# A card field's names, as a key of the dumps (at any depth) or a column of the raw files. (Not searched
# in the raw bytes: "cvc" turns up by chance in a few megabytes of base64 ciphertext.)
CARD_FIELD = re.compile(r"cvc|cvv|cvn|csc|security_?code|card_?code|card_?number|^pan$", re.IGNORECASE)


def card_fields_in(dump: bytes) -> list[str]:
    """Return every key of the JSON ``dump`` (at any depth, JSON fields included) named like card data."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            found.extend(key for key in value if CARD_FIELD.search(str(key)))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(dump))
    return found


def sqlite_columns(path: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [row[1] for table in tables for row in connection.execute(f'PRAGMA table_info("{table}")')]
    finally:
        connection.close()


PLAIN_DIGIT_RUN = re.compile(rb"(?<![0-9])[0-9]{13,19}(?![0-9])")


def card_numbers_in(data: bytes, *, separators: bool = True) -> list[str]:
    """Return every Luhn-valid, card-like run of 13–19 digits in ``data``.

    In raw database pages, record-header bytes can be ASCII digits just before a date ("…2026-11-30"):
    there, only unbroken runs count (``separators=False``); the dumps are text and are scanned for
    spaced and dashed numbers too.
    """
    found = []
    pattern = DIGIT_RUN if separators else PLAIN_DIGIT_RUN
    for match in pattern.finditer(HEX_RUN.sub(b" ", data)):
        digits = re.sub(rb"[ -]", b"", match.group()).decode()
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
            found.append(digits)
    return found


def test_the_scanner_finds_what_it_looks_for() -> None:
    assert card_numbers_in(b'{"note": "card 4242 4242 4242 4242, cvc 123"}') == ["4242424242424242"]
    assert card_numbers_in(b"x5555-5555-5555-4444y") == ["5555555555554444"]
    assert card_numbers_in(b"4242424242424241 1796080753123") == []  # not Luhn; a timestamp
    assert card_numbers_in(b"52734810-8537-6754-27ab-0123456789ab") == []  # a uuid
    assert card_numbers_in(b"\x00x4242424242424242\x01", separators=False) == ["4242424242424242"]
    assert card_fields_in(b'[{"fields": {"card_cvc": "1", "data": {"cvv2": 1}}}]') == ["card_cvc", "cvv2"]


def _dumps() -> list[bytes]:
    out = []
    for alias in DBS:
        buffer = io.StringIO()
        call_command("dumpdata", database=alias, stdout=buffer)
        out.append(buffer.getvalue().encode())
    return out


def test_a_hundred_payments_leave_no_card_number_or_cvc_in_any_dump(
    customer, stripe_gateway, settings, django_capture_on_commit_callbacks
) -> None:
    settings.PACTE_BILLING_GATEWAYS = "sandbox stripe=stripe"
    sandbox = gateway_get("sandbox")
    assert isinstance(sandbox, SandboxGateway)
    subject_id = customer()
    for index in range(95):
        number = TEST_CARDS[index % len(TEST_CARDS)]
        attempt = payment_start(payable=payable_for(subject_id), country="FR", actor="system").attempt
        token = sandbox.payment_method_create(number=number, exp_month=12, exp_year=2031, cvc="314").token
        with django_capture_on_commit_callbacks(execute=True):
            try:
                payment_pay(
                    attempt_id=attempt.id, payment_method=token, actor="system", save_method=index % 10 == 0
                )
            except Exception as declined:  # the declining cards of the list
                assert getattr(declined, "code", "") == "billing.gateway_error"
    for index in range(5):
        attempt = payment_start(
            payable=payable_for(subject_id), country="FR", actor="system", gateway="stripe"
        ).attempt
        payment_pay(
            attempt_id=attempt.id,
            payment_method=stripe_card(stripe_gateway),
            actor="system",
            save_method=index == 0,
        )
    assert PaymentAttempt.objects.count() == 100
    assert StoredPaymentMethod.objects.count() == 11
    dumps = _dumps()
    assert dumps[0].count(b'"model": "billing.paymentattempt"') == 100  # the dump holds them
    for dump in dumps:
        assert card_numbers_in(dump) == []
        assert card_fields_in(dump) == []


SCRIPT = textwrap.dedent(
    """
    import uuid
    from pacte.accounts.services import user_create
    from pacte.billing.flows.payment import payment_pay, payment_start
    from pacte.billing.gateways import gateway_get
    from pacte.billing.gateways.base import Payable
    cards = {cards!r}
    user = user_create(email=uuid.uuid4().hex[:10] + "@example.com", password=None, name="Ada Lovelace")
    sandbox = gateway_get("sandbox")
    for index in range(100):
        payable = Payable(reference=uuid.uuid4(), subject_id=user.subject_id, amount=1000 + index, currency="EUR",
                          lines=("Item",), customer_name="Ada Lovelace", customer_email="ada@example.com")
        attempt = payment_start(payable=payable, country="FR", actor="system").attempt
        token = sandbox.payment_method_create(number=cards[index % len(cards)], exp_month=12, exp_year=2031, cvc="314").token
        try:
            payment_pay(attempt_id=attempt.id, payment_method=token, actor="system", save_method=index % 10 == 0)
        except Exception:
            pass
    from pacte.billing.models import PaymentAttempt
    print("PAID", PaymentAttempt.objects.filter(state="paid").count())
    """
)


@pytest.mark.slow
def test_the_raw_sqlite_files_hold_no_card_number_after_a_hundred_payments(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"PACTE_TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
    for alias in DBS:
        pacte(home, "migrate", "--database", alias, **env)
    out = pacte(home, "shell", "-c", SCRIPT.format(cards=TEST_CARDS), **env).stdout
    assert "PAID 60" in out  # 3 of the 5 cards pay: the webhooks ran in that process
    files = sorted(p for p in home.iterdir() if ".sqlite3" in p.name)
    assert {p.name for p in files} >= {"pacte.sqlite3", "keys.sqlite3", "telemetry.sqlite3"}
    for path in files:
        raw = path.read_bytes()
        assert card_numbers_in(raw, separators=False) == [], path.name
        if path.name.endswith(".sqlite3"):
            assert [c for c in sqlite_columns(path) if CARD_FIELD.search(c)] == [], path.name
    for alias in DBS:
        dump = pacte(home, "dumpdata", "--database", alias, **env).stdout.encode()
        assert card_numbers_in(dump) == [] and card_fields_in(dump) == [], alias
