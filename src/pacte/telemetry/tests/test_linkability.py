"""The linkability test: a database administrator holding all three databases and the key store, 48 hours
after a customer browsed, cannot attribute a single visit to that customer."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from ipaddress import ip_address

import pytest
from django.apps import apps
from django.db import connections
from django.test import Client

from pacte.accounts.services import user_create
from pacte.telemetry import services
from pacte.telemetry.client import truncate_ip
from pacte.telemetry.models import DailyCount, Hit
from pacte.telemetry.tests.conftest import FIREFOX
from pacte.vault.keyring import master_key_ring
from pacte.vault.models import SystemSecret

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"
CUSTOMER_IP = "81.2.69.160"
# Tables of the default database that say who someone is or which session they hold.
PERSON_APPS = {"accounts", "sessions", "subjects", "usersessions", "account", "mfa", "auth"}


def _values(alias: str, tables: list[str]) -> set[str]:
    """Every non-trivial value of every column of ``tables``, as text (what a dump would show)."""
    found: set[str] = set()
    with connections[alias].cursor() as cursor:
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if value is None or isinstance(value, bool):
                        continue
                    text = value.hex() if isinstance(value, bytes | memoryview) else str(value)
                    if len(text) >= 6:  # 0/1, short codes and empty strings join nothing
                        found.add(text)
                        found.add(text.replace("-", ""))  # a UUID is stored with dashes or without
    return found


def _tables(alias: str, labels: set[str] | None = None) -> list[str]:
    return [
        model._meta.db_table
        for model in apps.get_models()
        if model._meta.managed
        and (labels is None or model._meta.app_label in labels)
        and model._meta.db_table in connections[alias].introspection.table_names()
        and (alias != "default" or model._meta.app_label not in {"telemetry", "vault"})
    ]


def test_after_48_hours_no_visit_can_be_attributed_to_the_customer(telemetry) -> None:
    user = user_create(
        email="dominique@example.fr", password=PASSWORD, birth_date=None, name="Dominique Bernard"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR=CUSTOMER_IP)
    assert (
        client.post("/accounts/login/", {"login": "dominique@example.fr", "password": PASSWORD}).status_code
        == 302
    )
    for path in ("/", "/account/", "/privacy/", "/terms/", "/account/consents/", "/", "/privacy/?q=x"):
        assert client.get(path, HTTP_REFERER="https://www.example.org/from").status_code == 200, path
    telemetry.flush()
    hits = list(Hit.objects.all())
    assert len(hits) == 7 and {h.visitor_key for h in hits} == {hits[0].visitor_key}
    assert "/account/" in {h.path for h in hits}
    day = hits[0].minute.date()
    services.rollup_day(day=day)
    assert DailyCount.objects.exists()

    # Today the operator could still recompute the key from what a request shows: that is the point of a day key.
    key_today = services.visitor_key(
        salt=services.salt_of(day),
        site="testserver",
        truncated_ip=truncate_ip(ip_address(CUSTOMER_IP)),
        user_agent=FIREFOX,
    )
    assert key_today == hits[0].visitor_key

    # 48 hours later the purge has run.
    later = services.day_bounds(day)[0] + timedelta(hours=48)
    services.purge_all(at=later)
    services.salt_cache_clear()

    # 1. No column value of any telemetry row equals a value of the default database's tables about people.
    person_values = _values("default", _tables("default", PERSON_APPS))
    assert user.pk.hex in person_values and user.subject_id.hex in person_values
    telemetry_values = _values("telemetry", _tables("telemetry", {"telemetry"}))
    assert hits[0].visitor_key in telemetry_values  # the raw hits are still there (kept 7 days)...
    assert telemetry_values & person_values == set()  # ...yet share nothing with accounts, sessions, subjects
    assert CUSTOMER_IP not in telemetry_values and all(CUSTOMER_IP not in value for value in telemetry_values)

    # 2. The salt of that day is gone from the key store, so the key cannot be recomputed from any secret left.
    assert not SystemSecret.objects.filter(
        name__startswith=f"{services.SALT_PREFIX}@{day.isoformat()}"
    ).exists()
    ring = master_key_ring()
    candidates = [
        ring.unwrap(s.master_key_id, s.wrapped, context=f"secret|{s.name}")
        for s in SystemSecret.objects.all()
    ]
    message = "\x1f".join(("testserver", truncate_ip(ip_address(CUSTOMER_IP)), FIREFOX)).encode()
    for secret in candidates:
        assert hmac.new(secret, message, hashlib.sha256).hexdigest()[:32] != hits[0].visitor_key
    # 3. Nothing in the key store names the telemetry rows either.
    key_values = _values("keys", _tables("keys", {"vault"}))
    assert telemetry_values & key_values == set()
