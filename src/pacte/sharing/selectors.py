"""Reads of sharing: what was disclosed about a subject, to whom and why, from the ledger."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass

from pacte.ledger.selectors import entry_rows
from pacte.policy.selectors import policy_active
from pacte.sharing.authority_selectors import disclosures_withheld


@dataclass(frozen=True)
class DisclosureRow:
    """One disclosure as a person reads it: who received which kinds of data, why, and when."""

    seq: int
    time: datetime.datetime
    recipient: str
    recipient_name: str
    purpose: str
    purpose_label: str
    categories: tuple[str, ...]
    category_labels: tuple[str, ...]


def disclosure_list(*, subject_id: uuid.UUID | str, lang: str) -> list[DisclosureRow]:
    """Return every disclosure about ``subject_id``, oldest first, labelled in ``lang`` by the active policy.

    An id the active policy no longer declares is shown as it was recorded. A disclosure to an
    authority that forbade telling the person is left out until the ban is lifted.
    """
    policy = policy_active()
    withheld = disclosures_withheld(subject_id=subject_id)
    rows: list[DisclosureRow] = []
    for row in entry_rows(subject_id=subject_id):
        if row["type"] != "disclosure" or row["seq"] in withheld:
            continue
        payload = row["payload"]
        recipient = policy.recipients.get(payload["recipient"])
        purpose = policy.purposes.get(payload["purpose"])
        categories = tuple(payload["categories"])
        rows.append(
            DisclosureRow(
                seq=row["seq"],
                time=datetime.datetime.fromisoformat(row["time"]),
                recipient=payload["recipient"],
                recipient_name=recipient.name if recipient else payload["recipient"],
                purpose=payload["purpose"],
                purpose_label=purpose.label.get(lang) if purpose else payload["purpose"],
                categories=categories,
                category_labels=tuple(
                    policy.categories[c].label.get(lang) if c in policy.categories else c for c in categories
                ),
            )
        )
    return rows
