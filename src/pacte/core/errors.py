"""The one error type of Pacte.

Every refused action raises ``PacteError(message, code)``; ``PacteErrorMiddleware`` turns it into a page
in the visitor's language (HTML) or a problem+json body (API). Each app lists its codes in its
``error_codes.py``.
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

PROBLEM_JSON = "application/problem+json"


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


def problem_response(status: int, title: str, code: str, **extra: Any) -> JsonResponse:
    """Answer with an RFC 9457 problem: ``code`` is stable for programs, ``title`` is for people.

    ``extra`` members (``detail``, ``errors``, …) are added only when they hold something, so an
    answer never carries an empty member. Used by the error middleware and by the API alike.
    """
    body: dict[str, Any] = {"type": f"urn:pacte:error:{code}", "title": title, "status": status, "code": code}
    body.update({name: value for name, value in extra.items() if value})
    return JsonResponse(body, status=status, content_type=PROBLEM_JSON)
