"""Start-up checks: no telemetry table can join a visit to a person (telemetry.E001–E002).

Outside ``Diagnostic`` (errors and security events, which keep the full IP for the diagnostics
retention), a telemetry model may have no relation and no column whose name or type could hold an
account or subject id, a session key, an e-mail address or a raw IP address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import models

# Names that say "a person or their session": user_id, account, subject, session_key, email, ip, owner…
LINKING_NAME = re.compile(
    r"(^|_)(user|users|account|accounts|subject|subjects|person|customer|member|owner|session|sessions|"
    r"session_key|sid|e?mail|email_address|ip|ips|ip_address|ipv4|ipv6|remote_addr|addr|address|uuid|"
    r"cookie|token|login)($|_|id$)"
)
# Types that hold those values whatever the column is called.
LINKING_TYPES: tuple[type[models.Field], ...] = (
    models.EmailField,
    models.GenericIPAddressField,
    models.UUIDField,
)
ALLOWED_MODELS = {"Diagnostic"}


def linkability_errors(model_list: Iterable[type[models.Model]]) -> list[Error]:
    """Return an error for every relation or linking column of the given telemetry models."""
    errors: list[Error] = []
    for model in model_list:
        if model.__name__ in ALLOWED_MODELS:
            continue
        for field in model._meta.get_fields(include_hidden=True):
            label = f"{model._meta.label}.{field.name}"
            if field.is_relation:
                errors.append(
                    Error(
                        f"{label} is a relation: a telemetry row must never point at (or be pointed at by) another row.",
                        hint="Remove it: visits are counted apart from people, never joined to them.",
                        obj=model,
                        id="telemetry.E001",
                    )
                )
                continue
            if isinstance(field, LINKING_TYPES) or LINKING_NAME.search(field.name):
                errors.append(
                    Error(
                        f"{label} could hold an account id, session key, e-mail or raw IP address "
                        f"({type(field).__name__} '{field.name}').",
                        hint="Keep only what the statistics need (a truncated, salted visitor key); full IP "
                        "addresses belong in Diagnostic, never beside a visit.",
                        obj=model,
                        id="telemetry.E002",
                    )
                )
    return errors


@register(Tags.models, "pacte")
def telemetry_checks(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [*linkability_errors(apps.get_app_config("telemetry").get_models())]
