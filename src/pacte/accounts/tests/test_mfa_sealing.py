"""MFA secrets are sealed by the vault; the values stored before (``pacte1:``) still open."""

from __future__ import annotations

import base64
import secrets

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pacte.accounts.adapter import MFAAdapter
from pacte.vault.errors import VaultIntegrityError
from pacte.vault.keyring import system_secret

DBS = ["default", "keys", "telemetry"]
pytestmark = pytest.mark.django_db(databases=DBS)
TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105 - a test value


def _sealed_the_old_way(text: str) -> str:
    """What MFAAdapter.encrypt wrote before the vault sealed it (url-safe base64, ``pacte1:``)."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(system_secret("mfa-secrets")).encrypt(nonce, text.encode(), b"pacte-mfa")
    return "pacte1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def test_a_secret_stored_in_the_old_format_still_opens() -> None:
    assert MFAAdapter().decrypt(_sealed_the_old_way(TOTP_SECRET)) == TOTP_SECRET


def test_a_new_secret_is_sealed_in_the_vault_format_and_opens_again() -> None:
    adapter = MFAAdapter()
    sealed = adapter.encrypt(TOTP_SECRET)
    assert sealed.startswith("v1:") and TOTP_SECRET not in sealed
    assert sealed != adapter.encrypt(TOTP_SECRET)  # a fresh nonce each time
    assert adapter.decrypt(sealed) == TOTP_SECRET


def test_a_value_stored_unsealed_is_returned_as_is() -> None:
    assert MFAAdapter().decrypt(TOTP_SECRET) == TOTP_SECRET


@pytest.mark.parametrize("make", [MFAAdapter().encrypt, _sealed_the_old_way], ids=["vault", "old"])
def test_an_altered_secret_is_refused_in_either_format(make) -> None:
    sealed = make(TOTP_SECRET)
    prefix, body = sealed.split(":", 1)
    altered = f"{prefix}:{body[:-6]}{'A' if body[-6] != 'A' else 'B'}{body[-5:]}"
    with pytest.raises(VaultIntegrityError):
        MFAAdapter().decrypt(altered)
