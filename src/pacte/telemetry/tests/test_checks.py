"""The start-up check refuses any telemetry model that could join a visit to a person; the router keeps it apart."""

from __future__ import annotations

from django.apps.registry import Apps
from django.db import models

from pacte.accounts.models import User
from pacte.consent.selectors import banner_purposes
from pacte.core.routers import PacteRouter
from pacte.telemetry.checks import linkability_errors, telemetry_checks
from pacte.telemetry.models import Diagnostic, Hit
from pacte.telemetry.tests.conftest import consent_mode_policy
from pacte.vault.models import SystemSecret


def _model(name: str, **fields: models.Field) -> type[models.Model]:
    """A throw-away model in its own registry (the real app registry is left alone)."""
    registry = Apps(["django.contrib.contenttypes", "django.contrib.auth"])
    meta = type("Meta", (), {"app_label": "telemetry", "apps": registry})
    return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **fields})


def test_the_installed_telemetry_models_pass() -> None:
    assert telemetry_checks() == []


def test_a_relation_fails_start_up() -> None:
    bad = _model("BadHit", owner_ref=models.ForeignKey("auth.Group", on_delete=models.CASCADE))
    assert [e.id for e in linkability_errors([bad])] == ["telemetry.E001"]


def test_columns_that_could_hold_an_account_session_email_or_ip_fail_start_up() -> None:
    bad = _model(
        "LeakyHit",
        user_id=models.IntegerField(),
        session_key=models.CharField(max_length=40),
        contact=models.EmailField(),
        remote=models.GenericIPAddressField(),
        subject=models.UUIDField(),
        ip=models.CharField(max_length=45),
        path=models.CharField(max_length=100),  # harmless: not reported
    )
    errors = linkability_errors([bad])
    assert [e.id for e in errors] == ["telemetry.E002"] * 6
    named = " ".join(e.msg for e in errors)
    for column in ("user_id", "session_key", "contact", "remote", "subject", "'ip'"):
        assert column in named
    assert "path" not in named


def test_only_the_diagnostics_table_may_keep_an_ip_address() -> None:
    assert linkability_errors([Diagnostic]) == []
    assert Diagnostic._meta.get_field("ip").pacte_category == "network.ip"


def test_the_router_keeps_telemetry_in_its_alias_and_refuses_relations_to_any_other() -> None:

    router = PacteRouter()
    assert router.db_for_write(Hit) == router.db_for_read(Hit) == "telemetry"
    assert router.allow_relation(Hit(), User()) is False
    assert router.allow_relation(Hit(), SystemSecret()) is False
    assert router.allow_relation(Hit(), Diagnostic()) is True
    assert router.allow_migrate("default", "telemetry") is False
    assert router.allow_migrate("keys", "telemetry") is False


def test_consent_mode_statistics_are_asked_in_the_banner_even_without_a_cookie(settings, tmp_path) -> None:

    settings.PACTE_POLICY_FILE = str(consent_mode_policy(tmp_path))
    assert "statistics" in {row.id for row in banner_purposes()}
    path = tmp_path / "unasked.toml"
    path.write_text(
        (tmp_path / "consent-mode.toml")
        .read_text()
        .replace('category = "analytics"', 'category = "strictly_necessary"')
    )
    settings.PACTE_POLICY_FILE = str(path)
    # No non-essential cookie serves statistics any more: the banner still asks, so a yes can count.
    rows = {row.id: row for row in banner_purposes(lang="fr")}
    assert "statistics" in rows and rows["statistics"].cookies == [] and rows["statistics"].label
