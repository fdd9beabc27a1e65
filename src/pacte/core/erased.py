"""The value of a personal field whose key was destroyed (crypto-shredding).

Declared in core so that every layer can recognise it; the vault returns it (``vault.fields``) when a
field's key is gone, and exports, mails and pages show it as a word.
"""

from __future__ import annotations

from django.utils.translation import gettext


class _Erased:
    """The value of a field whose key was destroyed: falsy, prints as "erased"/"effacé"."""

    _instance: _Erased | None = None

    def __new__(cls) -> _Erased:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return gettext("erased")

    def __repr__(self) -> str:
        return "ERASED"

    def __html__(self) -> str:
        return str(self)

    def __reduce__(self) -> str:
        return "ERASED"


ERASED = _Erased()
