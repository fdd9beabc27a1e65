"""Reads of sharing: what was disclosed about a subject, to whom and why, from the ledger."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils import timezone

from pacte.ledger.selectors import entry_rows
from pacte.policy.selectors import policy_active
from pacte.sharing.authority_selectors import disclosures_withheld
from pacte.sharing.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


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


# --- Operator webhooks ----------------------------------------------------------------------------


def disclosure_recipients(*, subject_id: uuid.UUID | str) -> set[tuple[str, str]]:
    """Return the (recipient, purpose) pairs that received a disclosure about ``subject_id`` (the ledger's)."""
    return {
        (row["payload"]["recipient"], row["payload"]["purpose"])
        for row in entry_rows(subject_id=subject_id)
        if row["type"] == "disclosure"
    }


def webhook_deliveries_due(*, limit: int = 1000) -> list[str]:
    """Return the ids of queued deliveries whose (next) attempt is due, oldest first."""
    rows = WebhookDelivery.objects.filter(status=DeliveryStatus.QUEUED, next_attempt_at__lte=timezone.now())
    return [str(pk) for pk in rows.order_by("next_attempt_at").values_list("pk", flat=True)[:limit]]


def webhook_endpoints_undeclared() -> list[tuple[str, str]]:
    """Return (endpoint id, reason) for each active endpoint the active policy no longer allows."""
    policy = policy_active()
    found = []
    for endpoint in WebhookEndpoint.objects.filter(active=True).order_by("created_at"):
        recipient = policy.recipients.get(endpoint.recipient)
        host = (urlsplit(endpoint.url).hostname or "").lower()
        if recipient is None:
            found.append((str(endpoint.pk), f"recipient '{endpoint.recipient}' is not declared"))
        elif endpoint.purpose not in recipient.purposes:
            found.append(
                (str(endpoint.pk), f"purpose '{endpoint.purpose}' is not one of '{endpoint.recipient}'s")
            )
        elif not recipient.allows_host(host):
            found.append((str(endpoint.pk), f"host '{host}' is not among '{endpoint.recipient}'s hosts"))
    return found
