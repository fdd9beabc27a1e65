"""System checks: the code must agree with the policy it runs under (pacte.E001–E003)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.db import models

from pacte.policy.loader import PolicyFileError
from pacte.policy.registry import field_purpose, personal_fields
from pacte.policy.selectors import category_ids, policy_active, policy_loaded


def check_fields_against_policy(
    model_list: list[type[models.Model]] | None = None,
    categories: set[str] | None = None,
    purposes: set[str] | None = None,
) -> list[Error]:
    """Return an error for every personal field without a category, or with one the policy lacks.

    A field marked ``only_under(purpose, …)`` is not checked against a policy that lacks ``purpose``:
    its feature is off there, and nothing is written in it.
    """
    if categories is None:
        try:
            categories = category_ids()
            purposes = set(policy_active().purposes)
        except PolicyFileError:
            return []  # reported by E003
    errors = []
    for model, field, category in personal_fields(model_list):
        label = f"{model._meta.label}.{field.name}"
        if not category:
            errors.append(
                Error(
                    f"{label} holds personal data but declares no policy category.",
                    hint='Use a vault field with category="…" (e.g. EncryptedEmailField(category="contact.email")), '
                    "or set pacte_personal = False on the field if it holds no personal data.",
                    obj=field,
                    id="pacte.E001",
                )
            )
        elif category not in categories and (
            purposes is None or field_purpose(field) is None or field_purpose(field) in purposes
        ):
            errors.append(
                Error(
                    f"{label} declares the category '{category}', which the active policy does not declare.",
                    hint=f'Add [categories."{category}"] to the policy file, or use one of: {", ".join(sorted(categories))}.',
                    obj=field,
                    id="pacte.E002",
                )
            )
    return errors


@register(Tags.models, "pacte")
def policy_checks(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    try:
        policy_loaded()
    except PolicyFileError as error:
        return [
            Error(
                "The active policy file is invalid:\n" + "\n".join(error.lines()),
                hint="Fix the file (pacte policy check FILE) or point PACTE_POLICY at a valid one.",
                id="pacte.E003",
            )
        ]
    return check_fields_against_policy()
