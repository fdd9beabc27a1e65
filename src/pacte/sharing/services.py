"""Writes of sharing: the one gate through which personal data reaches a third party."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from pacte.consent.selectors import consent_check
from pacte.core.errors import PacteError
from pacte.ledger.services import entry_append
from pacte.policy.selectors import policy_active
from pacte.sharing import error_codes
from pacte.subjects.selectors import subject_get


@dataclass(frozen=True)
class Disclosure:
    """What may be sent to ``recipient`` for ``purpose``: ``payload`` (field → value) and nothing else.

    ``categories_sent`` are the sorted category ids of the fields kept; ``stripped`` names the fields
    left out because the policy does not let this recipient receive their category for this purpose.
    """

    recipient: str
    purpose: str
    payload: dict[str, Any]
    categories_sent: tuple[str, ...]
    stripped: tuple[str, ...]


def _listed(ids: Any) -> str:
    return ", ".join(sorted(ids)) or "—"


def _split(data: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Return ``data`` as field → (category, value); refuse a field whose category is not given."""
    fields: dict[str, tuple[str, Any]] = {}
    for name, item in data.items():
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str) and item[0]):
            raise PacteError(
                _(
                    "The field %(field)s has no data category, so the policy cannot say whether it may be "
                    "shared. Give it as (category id, value)."
                )
                % {"field": repr(name)},
                error_codes.NO_CATEGORY,
            )
        fields[str(name)] = (item[0], item[1])
    return fields


@transaction.atomic
def disclose(
    *,
    recipient: str,
    purpose: str,
    subject_id: uuid.UUID | str,
    data: dict[str, tuple[str, Any]] | dict[str, Any],
    actor: str,
) -> Disclosure:
    """Check a disclosure of ``subject_id``'s ``data`` against the active policy; record it and return it.

    ``data`` maps each field name to ``(category id, value)``. The recipient must be declared, the
    purpose one of its purposes, the subject neither unknown, erased nor restricted (GDPR art. 18), and
    consent given when the recipient or the purpose requires it; otherwise a ``PacteError`` names what
    the policy lacks, and nothing is recorded. A field is kept only if its category is one the policy
    lets the recipient receive *and* the purpose use (data minimisation); the others are stripped and
    listed in ``Disclosure.stripped``. Send ``Disclosure.payload`` and nothing else, and only once the
    caller's transaction commits (``transaction.on_commit``): the ``disclosure`` ledger entry (recipient,
    purpose, categories — never values) is written in that same transaction. Nothing left to send
    writes no entry.
    """
    policy = policy_active()
    declared = policy.recipients.get(recipient)
    if declared is None:
        raise PacteError(
            _("The policy declares no recipient %(recipient)s. Declared recipients: %(valid)s.")
            % {"recipient": repr(recipient), "valid": _listed(policy.recipients)},
            error_codes.UNKNOWN_RECIPIENT,
        )
    if purpose not in declared.purposes or purpose not in policy.purposes:
        raise PacteError(
            _("The policy does not share data with %(recipient)s for %(purpose)s, only for: %(valid)s.")
            % {"recipient": repr(recipient), "purpose": repr(purpose), "valid": _listed(declared.purposes)},
            error_codes.PURPOSE_NOT_RECIPIENTS,
        )
    fields = _split(data)
    subject = subject_get(subject_id=subject_id)
    if subject is None or subject.erased_at is not None:
        raise PacteError(
            _("There is no such person to share data about (unknown or erased)."), error_codes.UNKNOWN_SUBJECT
        )
    if subject.restricted_at is not None:
        raise PacteError(
            _("Processing of this person's data is restricted: nothing may be shared until it is lifted."),
            error_codes.RESTRICTED,
        )
    if (declared.consent_required or policy.purposes[purpose].consent_required) and not consent_check(
        subject_id=subject_id, purpose=purpose
    ):
        raise PacteError(
            _("Sharing with %(recipient)s for %(purpose)s needs this person's consent, which is not given.")
            % {"recipient": repr(recipient), "purpose": repr(purpose)},
            error_codes.CONSENT_MISSING,
        )

    allowed = set(declared.categories) & set(policy.purposes[purpose].categories)
    payload = {name: value for name, (category, value) in fields.items() if category in allowed}
    sent = tuple(sorted({category for category, _value in fields.values() if category in allowed}))
    stripped = tuple(name for name, (category, _value) in fields.items() if category not in allowed)
    if payload:
        entry_append(
            type="disclosure",
            subject_id=subject_id,
            actor=actor,
            payload={"recipient": recipient, "purpose": purpose, "categories": list(sent)},
        )
    return Disclosure(
        recipient=recipient, purpose=purpose, payload=payload, categories_sent=sent, stripped=stripped
    )


def webhook_emit(
    *, event: str, subject_id: uuid.UUID | str, data: dict[str, tuple[str, Any]], actor: str
) -> list[Any]:
    """Queue ``event`` to the operator's webhook endpoints, each payload minimised by ``disclose``.

    See ``sharing.webhooks.webhook_emit`` (where the webhook services live).
    """
    # reason: webhooks builds on disclose above and imports this module; importing it here would be a cycle.
    from pacte.sharing import webhooks

    return webhooks.webhook_emit(event=event, subject_id=subject_id, data=data, actor=actor)
