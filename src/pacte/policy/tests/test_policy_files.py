"""Policy files: both seeds load; every invalid example fails with its expected message and line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pacte.policy.loader import PolicyFileError, load_policy_file, parse_policy

REPO = Path(__file__).resolve().parents[4]
INVALID = sorted((REPO / "tests" / "policies" / "invalid").glob("*.toml"))


@pytest.mark.parametrize("name", ["aplusc.toml", "plusuite.toml"])
def test_both_seed_policies_are_valid(name: str) -> None:
    loaded = load_policy_file(REPO / "policies" / name)
    policy = loaded.policy
    assert {"identity.name", "contact.email", "contact.phone", "contact.postal"} <= set(policy.categories)
    assert policy.retention["invoices"].duration.years == 10
    assert policy.retention["invoices"].legal_hold is True
    assert policy.operator.minimum_age == 18
    assert all(r.kind in {"processor", "partner", "authority"} for r in policy.recipients.values())
    assert all(r.consent_required for r in policy.recipients.values() if r.kind == "partner")
    assert all(c.lifetime.in_months <= 13 for c in policy.cookies.values())


def test_there_are_invalid_examples() -> None:
    assert len(INVALID) >= 8


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_example_fails_with_its_expected_message(path: Path) -> None:
    expected = path.read_text().splitlines()[0].removeprefix("# expect: ")
    with pytest.raises(PolicyFileError) as raised:
        load_policy_file(path)
    lines = raised.value.lines()
    assert any(expected in line for line in lines), lines
    for line in lines:
        assert re.match(rf"^{re.escape(str(path))}:\d+: \S.*: .+ — .+$", line), line


def test_error_names_the_line_of_the_offending_key() -> None:
    text = (REPO / "policies" / "aplusc.toml").read_text()
    bad = text.replace('lifetime = "P14D"', 'lifetime = "P2Y"', 1)
    expected_line = bad.splitlines().index('lifetime = "P2Y"') + 1
    with pytest.raises(PolicyFileError) as raised:
        parse_policy(bad, file="x.toml")
    assert raised.value.lines() == [
        f"x.toml:{expected_line}: cookies.sessionid.lifetime: a cookie may live at most 13 months, "
        "'sessionid' lives P2Y — shorten it, e.g. lifetime = \"P13M\""
    ]


def test_every_error_is_reported_not_only_the_first() -> None:
    text = (REPO / "policies" / "aplusc.toml").read_text()
    bad = text.replace("minimum_age = 18", "minimum_age = 18\nfoo = 1\nbar = 2", 1)
    with pytest.raises(PolicyFileError) as raised:
        parse_policy(bad, file="x.toml")
    assert len(raised.value.problems) == 2


def _pacte(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(PACTE_HOME=str(home), DJANGO_SETTINGS_MODULE="pacte.settings")
    return subprocess.run([sys.executable, "-m", "pacte.cli", *args], capture_output=True, text=True, env=env)


def test_cli_check_exit_codes(tmp_path: Path) -> None:
    ok = _pacte("policy", "check", str(REPO / "policies" / "plusuite.toml"), home=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout
    bad_path = next(p for p in INVALID if p.stem == "partner_without_consent")
    bad = _pacte("policy", "check", str(bad_path), home=tmp_path)
    assert bad.returncode == 1
    assert f"{bad_path}:" in bad.stderr
    assert "a commercial partner never receives personal data" in bad.stderr


def test_serve_refuses_an_invalid_policy_and_prints_the_same_errors(tmp_path: Path) -> None:
    bad_path = next(p for p in INVALID if p.stem == "cookie_14_months")
    expected = load_errors(bad_path)
    result = _pacte("serve", "--policy", str(bad_path), "--port", "1", home=tmp_path)
    assert result.returncode == 1
    for line in expected:
        assert line in result.stderr
    assert not (tmp_path / "pacte.sqlite3").exists() or "Pacte is serving" not in result.stdout


def load_errors(path: Path) -> list[str]:
    try:
        load_policy_file(path)
    except PolicyFileError as error:
        return error.lines()
    raise AssertionError("expected errors")


def test_render_and_register_commands(tmp_path: Path) -> None:
    policy = str(REPO / "policies" / "plusuite.toml")
    fr = _pacte("policy", "render", policy, "--lang", "fr", "--format", "markdown", home=tmp_path)
    assert fr.returncode == 0, fr.stderr
    assert "# Politique de confidentialité de PluSuite.com" in fr.stdout
    assert "Newsletter" in fr.stdout
    en = _pacte("policy", "render", policy, "--lang", "en", home=tmp_path)
    assert "<h2>Who receives it</h2>" in en.stdout
    assert "Tidio" in en.stdout
    register = _pacte("policy", "register", policy, "--format", "json", home=tmp_path)

    data = json.loads(register.stdout)
    purposes = {row["purpose_id"]: row for row in data["processing"]}
    assert purposes["newsletter"]["legal_basis"] == "consent"
    assert purposes["billing"]["retention"].startswith("10 years")
    csv_out = _pacte("policy", "register", policy, "--format", "csv", home=tmp_path)
    assert csv_out.stdout.splitlines()[0].startswith("controller,controller_contact,purpose_id")
    assert len(csv_out.stdout.splitlines()) == 1 + len(purposes)
