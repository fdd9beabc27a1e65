"""'Proof of my consents' is a bundle that `pacte receipt verify` checks, one line per receipt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from pacte.accounts.services import user_create
from pacte.consent.services import consent_set

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
PASSWORD = "correct horse battery 42"


def _bundle(tmp_path: Path, lang: str = "en") -> tuple[Client, Path, Path]:
    user = user_create(email="zoe@example.fr", password=PASSWORD, name="Zoé Petit", birth_date=None)
    consent_set(subject_id=user.subject_id, purpose="newsletter", granted=True, source="portal")
    consent_set(subject_id=user.subject_id, purpose="newsletter", granted=False, source="portal")
    consent_set(subject_id=user.subject_id, purpose="promotions", granted=True, source="portal")
    client = Client(HTTP_ACCEPT_LANGUAGE=lang)
    client.force_login(user)
    bundle = tmp_path / "consent-receipts.json"
    bundle.write_bytes(client.get("/account/consents/receipts.json").content)
    key = tmp_path / "ledger-key.pem"
    key.write_bytes(Client().get("/.well-known/pacte/ledger-key").content)
    return client, bundle, key


def test_the_verifier_accepts_the_bundle_one_line_per_receipt(tmp_path: Path, capsys) -> None:
    _client, bundle, key = _bundle(tmp_path)
    call_command("receipt", "verify", str(bundle), "--key", str(key))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4
    assert all(": valid — entry " in line for line in lines[:3])
    assert lines[3] == "3 of 3 receipts valid"
    assert "(consent.withdrawn)" in lines[1]


def test_a_tampered_receipt_in_the_bundle_is_named_and_fails(tmp_path: Path, capsys) -> None:
    _client, bundle, key = _bundle(tmp_path)
    document = json.loads(bundle.read_text())
    document["receipts"][1]["entry"]["payload"]["purpose"] = "promotions"
    bundle.write_text(json.dumps(document))
    with pytest.raises(CommandError):
        call_command("receipt", "verify", str(bundle), "--key", str(key))
    captured = capsys.readouterr()
    assert f"{bundle} #2: NOT VALID" in captured.err
    assert "2 of 3 receipts valid" in captured.out


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", ["How to check it", "python -m pacte.ledger.verifier"]), ("fr", ["Comment le vérifier"])],
)
def test_my_consents_says_how_to_check_and_where_the_key_is(
    tmp_path: Path, lang: str, words: list[str]
) -> None:
    client, _bundle_path, _key = _bundle(tmp_path, lang)
    page = client.get("/account/consents/").content.decode()
    assert 'href="/.well-known/pacte/ledger-key"' in page
    for word in words:
        assert word in page
