"""Ports: what a lower-layer app needs from an app it may not import, plugged in at start-up.

The foundation apps (``subjects``, ``vault``, ``ledger``) may not import one another, and ``policy`` may
not import any of them (docs/architecture.md, the import contracts in pyproject.toml). Yet a key
destruction (vault) and a policy publication (policy) are facts the ledger records, and the ledger's
signing seed is a secret of the vault's key store. Each such need is a port declared here: the providing
app plugs its function in its ``AppConfig.ready()``; the needing app calls the port as it would call the
function. Nothing else is routed this way: an app that may import another calls its services directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class Port:
    """A function slot: declared by the layer that calls it, filled by the app that provides it."""

    def __init__(self, name: str, provider: str) -> None:
        self.name, self.provider = name, provider
        self._function: Callable[..., Any] | None = None

    def plug(self, function: Callable[..., Any]) -> None:
        """Provide the port's function (once, from the providing app's ``AppConfig.ready()``)."""
        self._function = function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._function is None:
            raise ImproperlyConfigured(
                f"Nothing provides the port {self.name!r}: is {self.provider} installed?"
            )
        return self._function(*args, **kwargs)


# Append a fact to the proof ledger in the caller's transaction (keyword arguments of
# ledger.services.entry_append: type, subject_id, actor, payload). Called by vault and policy.
record_fact = Port("record_fact", "pacte.ledger (ledger.services.entry_append)")

# A named secret of the key store, created on first use: system_secret(name, length=32) -> bytes.
# Called by the ledger for its Ed25519 signing seed.
system_secret = Port("system_secret", "pacte.vault (vault.keyring.system_secret)")
