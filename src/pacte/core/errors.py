"""The one error type of Pacte.

Every refused action raises ``PacteError(message, code)``; ``PacteErrorMiddleware`` turns it into a page
in the visitor's language (HTML) or a problem+json body (API). Each app lists its codes in its
``error_codes.py``.
"""

from __future__ import annotations

from typing import Any


class PacteError(Exception):
    """A refused action, with a message for people and a stable code for programs."""

    status = 400

    def __init__(self, message: Any, code: str, *, status: int | None = None, **params: Any) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.params = params
        if status is not None:
            self.status = status

    def __str__(self) -> str:  # pragma: no cover - trivial
        return f"{self.code}: {self.message}"
