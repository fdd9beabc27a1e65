"""pacte.E030: a model holding personal data must say how to export and erase it."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register

from pacte.policy.registry import personal_fields
from pacte.subjects.registry import is_registered


@register(Tags.models, "pacte")
def registry_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Every model holding personal data is registered with an exporter and an eraser."""
    errors = []
    seen = set()
    for model, _field, _category in personal_fields():
        if model in seen or model._meta.abstract:
            continue
        seen.add(model)
        if not is_registered(model):
            errors.append(
                Error(
                    f"{model._meta.label} holds personal data but has no exporter and eraser.",
                    hint="In its app's AppConfig.ready(), call pacte.subjects.registry.register("
                    f"{model.__name__}, exporter=…, eraser=…) (the defaults handle rows with a subject FK).",
                    obj=model,
                    id="pacte.E030",
                )
            )
    return errors
