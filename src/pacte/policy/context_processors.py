"""What every template knows of the policy: the operator (name, minimum age)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from pacte.policy import selectors


def pacte(request: HttpRequest) -> dict[str, Any]:
    """Give every template the operator's name (from the active policy) without a second read."""
    try:
        policy = selectors.policy_active()
    except Exception:  # the policy app reports load errors itself, at start-up
        return {"pacte_operator": None, "pacte_minimum_age": 18}
    return {"pacte_operator": policy.operator, "pacte_minimum_age": policy.operator.minimum_age}
