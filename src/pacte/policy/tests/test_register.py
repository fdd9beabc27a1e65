"""The Art. 30 register and the notice claim exactly the security measures the installed apps register."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils.html import escape

from pacte.policy import registry
from pacte.policy.loader import load_policy_file
from pacte.policy.registry import measure_list, measure_register
from pacte.policy.render import notice_html, notice_markdown, register_csv, register_json

REPO = Path(__file__).resolve().parents[4]
POLICIES = ["aplusc.toml", "plusuite.toml"]
# One measure per app that implements one; nothing for what is not built (staff reads: the back office).
BUILT = {
    "accounts.sign_in",
    "billing.no_card_data",
    "sharing.gate",
    "telemetry.unlinkable",
    "consent.proof",
    "ledger.tamper_evident",
    "messaging.consent_gate",
    "rights.erasure",
    "vault.encryption",
}
NOT_BUILT = ("staff read", "staff access", "lecture par le personnel")


def _register(policy: Path, fmt: str, home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(PACTE_HOME=str(home), DJANGO_SETTINGS_MODULE="pacte.settings")
    result = subprocess.run(
        [sys.executable, "-m", "pacte.cli", "policy", "register", str(policy), "--format", fmt],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_each_app_registers_the_measure_it_implements() -> None:
    assert {measure.id for measure in measure_list()} == BUILT
    for measure in measure_list():
        assert measure.fr and measure.en and measure.fr != measure.en


@pytest.mark.parametrize("name", POLICIES)
def test_the_register_lists_exactly_the_registered_measures(tmp_path, name: str) -> None:
    expected = [measure.en for measure in measure_list()]
    data = json.loads(_register(REPO / "policies" / name, "json", tmp_path))  # a real `pacte` process
    rows = data["processing"]
    assert rows
    for row in rows:
        assert row["security_measures"] == expected
    text = json.dumps(data).lower()
    for claim in NOT_BUILT[:3]:
        assert claim not in text
    csv_text = _register(REPO / "policies" / name, "csv", tmp_path)
    assert csv_text.count("; ".join(expected)) == len(rows)


def test_a_newly_registered_measure_appears_in_the_register_and_the_notice(monkeypatch) -> None:
    monkeypatch.setattr(registry, "_measures", dict(registry._measures))
    policy = load_policy_file(REPO / "policies" / "plusuite.toml").policy
    assert "Backups encrypted" not in register_json(policy)
    measure_register("backup.encryption", fr="Sauvegardes chiffrées", en="Backups encrypted")
    rows = json.loads(register_json(policy))["processing"]
    assert all("Backups encrypted" in row["security_measures"] for row in rows)
    assert "Backups encrypted" in register_csv(policy)
    assert "<li>Backups encrypted</li>" in notice_html(policy, "en")
    assert "<li>Sauvegardes chiffrées</li>" in notice_html(policy, "fr")
    assert "- Backups encrypted" in notice_markdown(policy, "en")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_notice_claims_only_the_registered_measures(lang: str) -> None:
    policy = load_policy_file(REPO / "policies" / "aplusc.toml").policy
    html = notice_html(policy, lang)
    security = html[html.index('<section id="security">') : html.index('<section id="changes">')]
    assert security.count("<li>") == len(BUILT)
    for measure in measure_list():
        assert f"<li>{escape(measure.get(lang))}</li>" in security
    for claim in NOT_BUILT:
        assert claim not in security.lower()
