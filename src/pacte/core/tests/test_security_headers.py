import pytest
from django.test import Client

from pacte.core.middleware import CONTENT_SECURITY_POLICY
from pacte.core.routers import PacteRouter


@pytest.mark.django_db
def test_every_response_carries_the_strict_security_headers() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS


def test_database_router_keeps_keys_and_telemetry_apart() -> None:
    router = PacteRouter()
    assert router.allow_migrate("keys", "vault") is True
    assert router.allow_migrate("default", "vault") is False
    assert router.allow_migrate("telemetry", "telemetry") is True
    assert router.allow_migrate("default", "ledger") is True
    assert router.allow_migrate("keys", "ledger") is False
    assert router.allow_migrate("default", "telemetry") is False
    assert router.allow_migrate("keys", "telemetry") is False
    # No relation can join a visit to a person or to the key store.
    from pacte.accounts.models import User
    from pacte.telemetry.models import Hit
    from pacte.vault.models import SystemSecret

    assert router.db_for_write(Hit) == "telemetry"
    assert router.allow_relation(Hit(), User()) is False
    assert router.allow_relation(Hit(), SystemSecret()) is False
