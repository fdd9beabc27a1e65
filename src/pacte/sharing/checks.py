"""pacte.E052: every active webhook endpoint is allowed by the active policy (recipient, purpose, host)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from pacte.sharing.selectors import webhook_endpoints_undeclared


@register(Tags.database, "pacte")
def webhook_endpoints_check(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Error]:
    """Run with the database checks (``migrate``, ``check --database default``, so ``pacte serve``)."""
    if not databases or "default" not in databases:
        return []
    try:
        wrong = webhook_endpoints_undeclared()
    except DatabaseError:  # not migrated yet
        return []
    return [
        Error(
            f"Webhook endpoint {endpoint_id}: {reason} in the policy; its deliveries would be refused.",
            hint="Declare it in the policy's [recipients.*] (hosts, purposes), or deactivate the endpoint.",
            id="pacte.E052",
        )
        for endpoint_id, reason in wrong
    ]
