from __future__ import annotations

import pytest

from pacte.vault.keyring import reset_caches


@pytest.fixture(autouse=True)
def _fresh_vault_caches():
    """Each test starts with no cached master ring, system secret or data key."""
    from pacte.vault.crypto import _process_cache

    reset_caches()
    _process_cache.clear()
    yield
    reset_caches()
    _process_cache.clear()
