"""Writes of operator webhooks: register an endpoint, emit events through the gate, deliver them signed.

An event is minimised by ``sharing.services.disclose`` (recipient = the endpoint's, purpose = the
endpoint's), which writes the ``disclosure`` ledger entry in the caller's transaction; the delivery row is
written in that same transaction and its task enqueued once it commits. The worker POSTs the JSON body
through ``sharing.http`` (declared hosts only) with Standard Webhooks headers: ``webhook-id`` (the same on
every attempt: receivers drop duplicates), ``webhook-timestamp`` and ``webhook-signature: v1,<base64
HMAC-SHA256 of id.timestamp.body>``. A 2xx answer is delivered; anything else is retried after
``BACKOFF``, then marked failed for staff. The body is sealed at rest until delivered, then emptied; it is
never logged.

Two events are notices rather than data: ``account.erased`` (GDPR art. 19, sent to every endpoint of each
recipient that received a disclosure about the person, whatever it subscribed to) and
``consent.withdrawn`` (to the recipients whose purpose needed that consent and that received data for
it). They carry only ``subject``: a pseudonymous reference per recipient (``subject_ref``), the same as in
that recipient's data events, so it can find what to erase or stop, and two recipients cannot join theirs.
"""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import hmac
import json
import os
import time
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from pacte.core.errors import PacteError
from pacte.policy.selectors import policy_active
from pacte.sharing import error_codes, http, selectors, services, tasks
from pacte.sharing.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from pacte.vault.crypto import open_system, seal_system
from pacte.vault.keyring import system_secret

# Seconds before attempt 2, 3, 4, 5, 6; after the 6th failed attempt the delivery is marked failed.
BACKOFF = (30, 120, 600, 3600, 6 * 3600)
# An attempt in flight holds its delivery this long; a worker killed meanwhile leaves it to the retry task.
LEASE = 120
TIMEOUT = 15.0
NOTICES = (WebhookEvent.ACCOUNT_ERASED, WebhookEvent.CONSENT_WITHDRAWN)
# The gate's refusals that mean "not for this recipient now", not a bug of the caller.
_NOT_NOW = (error_codes.CONSENT_MISSING, error_codes.RESTRICTED)
SIGNING_KEY_NAME = "sharing.webhook-secrets"  # system secrets of the key store (vault.keyring.system_secret)
BODY_KEY_NAME = "sharing.webhook-bodies"
REF_KEY_NAME = "sharing.subject-refs"


def _secret_context(endpoint_id: Any) -> bytes:
    return f"sharing.webhook.secret|{endpoint_id}".encode()


def _body_context(delivery_id: Any) -> bytes:
    return f"sharing.webhook.body|{delivery_id}".encode()


def subject_ref(*, recipient: str, subject_id: uuid.UUID | str) -> str:
    """Return the pseudonymous reference of a person for one recipient (stable, keyed, not reversible)."""
    digest = hmac.new(
        system_secret(REF_KEY_NAME), f"{recipient}|{subject_id}".encode(), hashlib.sha256
    ).digest()
    return "sub_" + base64.b32encode(digest[:20]).decode().lower()


def signature(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """Return the Standard Webhooks signature header value (``v1,<base64 HMAC-SHA256>``)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _invalid(message: str) -> PacteError:
    return PacteError(message, error_codes.WEBHOOK_INVALID)


def _check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown:
        raise PacteError(
            _("Unknown webhook event %(event)s. Events: %(valid)s.")
            % {"event": repr(unknown[0]), "valid": ", ".join(WebhookEvent.values)},
            error_codes.UNKNOWN_EVENT,
        )
    # The erasure notice is a duty (GDPR art. 19), not an option.
    return sorted({*events, WebhookEvent.ACCOUNT_ERASED})


def webhook_endpoint_check(*, recipient: str, purpose: str, url: str, events: list[str]) -> list[str]:
    """Refuse an endpoint the policy would not allow (coded ``PacteError``); return its events to store.

    The recipient must be declared, the purpose one of its own, the URL pass ``sharing.http.check_url``,
    the events known (``account.erased`` is added: the erasure notice is a duty, not an option).
    """
    declared = policy_active().recipients.get(recipient)
    if declared is None:
        raise PacteError(
            _("The policy declares no recipient %(recipient)s.") % {"recipient": repr(recipient)},
            error_codes.UNKNOWN_RECIPIENT,
        )
    if purpose not in declared.purposes:
        raise _invalid(
            _("%(purpose)s is not a purpose of %(recipient)s; choose one of: %(valid)s.")
            % {"purpose": repr(purpose), "recipient": declared.name, "valid": ", ".join(declared.purposes)}
        )
    http.check_url(recipient=recipient, url=url)
    return _check_events(events)


@transaction.atomic
def webhook_endpoint_create(
    *, recipient: str, purpose: str, url: str, events: list[str], actor: str, active: bool = True
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint of a declared recipient; return it and its signing secret, shown this once.

    The URL must pass ``sharing.http.check_url`` (a host the recipient declares; https unless allowed);
    ``purpose`` is one of the recipient's (what the gate checks each event's data against).
    ``account.erased`` is always subscribed. Only the sealed secret is stored.
    """
    checked_events = webhook_endpoint_check(recipient=recipient, purpose=purpose, url=url, events=events)
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    endpoint = WebhookEndpoint(
        recipient=recipient,
        purpose=purpose,
        url=url,
        events=checked_events,
        active=active,
        created_by=actor[:80],
    )
    endpoint.secret = seal_system(secret, secret=SIGNING_KEY_NAME, context=_secret_context(endpoint.pk))
    endpoint.full_clean()
    endpoint.save()
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, purpose: str, url: str, events: list[str], active: bool
) -> WebhookEndpoint:
    """Change an endpoint's purpose, address, events or active flag (its recipient and secret stay)."""
    checked_events = webhook_endpoint_check(
        recipient=endpoint.recipient, purpose=purpose, url=url, events=events
    )
    endpoint.purpose, endpoint.url, endpoint.events, endpoint.active = purpose, url, checked_events, active
    endpoint.full_clean()
    endpoint.save(update_fields=["purpose", "url", "events", "active"])
    return endpoint


def _queue(
    endpoint: WebhookEndpoint, event: str, subject_id: Any, content: dict[str, Any]
) -> WebhookDelivery:
    """Write one sealed delivery in the caller's transaction; enqueue its sending once that commits."""
    delivery = WebhookDelivery(endpoint=endpoint, event=event, subject_id=subject_id)
    envelope = {
        "type": event,
        "timestamp": timezone.now().isoformat(timespec="seconds"),
        "subject": subject_ref(recipient=endpoint.recipient, subject_id=subject_id),
        **content,
    }
    body = json.dumps(envelope, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    delivery.body = seal_system(body, secret=BODY_KEY_NAME, context=_body_context(delivery.pk))
    delivery.full_clean()
    delivery.save()
    transaction.on_commit(functools.partial(tasks.webhook_deliver_task.enqueue, str(delivery.pk)))
    return delivery


def _endpoints(event: str) -> list[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.filter(active=True).order_by("created_at")
    return [endpoint for endpoint in endpoints if event in endpoint.events]


@transaction.atomic
def webhook_emit(
    *, event: str, subject_id: uuid.UUID | str, data: dict[str, tuple[str, Any]], actor: str
) -> list[WebhookDelivery]:
    """Queue ``event`` about ``subject_id`` to each active endpoint subscribed to it; return the deliveries.

    ``data`` is given as to ``disclose`` (field → (category id, value)) and minimised for each endpoint
    by it: a field whose category the recipient may not receive for the endpoint's purpose never leaves.
    An endpoint whose recipient needs a consent the person has not given, or a restricted person, gets
    nothing (the gate refused); other refusals raise and queue nothing. Call it inside the transaction
    of the change (an order marked paid…): the disclosure entries and the deliveries commit with it.
    """
    if event not in WebhookEvent.values:
        _check_events([event])
    if event in NOTICES:
        raise PacteError(
            _("%(event)s is a notice: use webhook_notify_erasure or webhook_notify_consent_withdrawn.")
            % {"event": event},
            error_codes.NOTICE_EVENT,
        )
    deliveries = []
    for endpoint in _endpoints(event):
        try:
            with transaction.atomic():
                sent = services.disclose(
                    recipient=endpoint.recipient,
                    purpose=endpoint.purpose,
                    subject_id=subject_id,
                    data=data,
                    actor=actor,
                )
        except PacteError as refusal:
            if refusal.code in _NOT_NOW:
                continue
            raise
        if sent.payload:
            deliveries.append(_queue(endpoint, event, subject_id, {"data": sent.payload}))
    return deliveries


@transaction.atomic
def webhook_notify_erasure(*, subject_id: uuid.UUID | str) -> list[WebhookDelivery]:
    """Tell every recipient that received data about ``subject_id`` that the person was erased (art. 19).

    Each active endpoint of such a recipient gets an ``account.erased`` notice carrying only the
    recipient's pseudonymous reference. Deliveries of data about the person not yet sent are dropped
    (their body emptied): nothing about an erased person leaves afterwards.
    """
    WebhookDelivery.objects.filter(
        subject_id=subject_id, status__in=[DeliveryStatus.QUEUED, DeliveryStatus.FAILED]
    ).exclude(event__in=NOTICES).update(status=DeliveryStatus.DROPPED, body="")
    received = {recipient for recipient, _purpose in selectors.disclosure_recipients(subject_id=subject_id)}
    return [
        _queue(endpoint, WebhookEvent.ACCOUNT_ERASED, subject_id, {})
        for endpoint in _endpoints(WebhookEvent.ACCOUNT_ERASED)
        if endpoint.recipient in received
    ]


@transaction.atomic
def webhook_notify_consent_withdrawn(*, subject_id: uuid.UUID | str, purpose: str) -> list[WebhookDelivery]:
    """Tell the recipients whose ``purpose`` needed the consent just withdrawn, and got data for it.

    Sent to the active endpoints subscribed to ``consent.withdrawn``: the pseudonymous reference and the
    purpose id, nothing else.
    """
    endpoints = _endpoints(WebhookEvent.CONSENT_WITHDRAWN)
    if not endpoints:  # the common case: no ledger read on every withdrawal
        return []
    policy = policy_active()
    received = {
        recipient
        for recipient, used in selectors.disclosure_recipients(subject_id=subject_id)
        if used == purpose
    }
    deliveries = []
    for endpoint in endpoints:
        declared = policy.recipients.get(endpoint.recipient)
        if declared is None or endpoint.recipient not in received or purpose not in declared.purposes:
            continue
        needed = declared.consent_required or (
            purpose in policy.purposes and policy.purposes[purpose].consent_required
        )
        if needed:
            deliveries.append(
                _queue(endpoint, WebhookEvent.CONSENT_WITHDRAWN, subject_id, {"purpose": purpose})
            )
    return deliveries


def _claim(delivery_id: str) -> WebhookDelivery | None:
    """Take a due queued delivery for one attempt (count it, hold it for ``LEASE``); None if not ours now."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint")
            .filter(pk=delivery_id, status=DeliveryStatus.QUEUED, next_attempt_at__lte=timezone.now())
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = timezone.now() + datetime.timedelta(seconds=LEASE)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def _attempt(delivery: WebhookDelivery) -> str:
    """POST the delivery once; return "" when the endpoint answered 2xx, else why not (no personal data)."""
    endpoint = delivery.endpoint
    if not endpoint.active:
        return "endpoint inactive"
    body = open_system(delivery.body, secret=BODY_KEY_NAME, context=_body_context(delivery.pk)).encode()
    secret = open_system(endpoint.secret, secret=SIGNING_KEY_NAME, context=_secret_context(endpoint.pk))
    stamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": "Pacte-Webhooks/1",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature(
            secret=secret, webhook_id=delivery.webhook_id, timestamp=stamp, body=body
        ),
    }
    try:
        # The disclosure entry was written when the event was emitted; notices carry no data.
        answer = http.send(
            recipient=endpoint.recipient,
            method="POST",
            url=endpoint.url,
            disclosure=None,
            headers=headers,
            content=body,
            timeout=TIMEOUT,
        )
    except http.SendFailed as failure:
        return failure.reason[:100]
    except PacteError as refusal:  # the policy or the settings changed since the endpoint was registered
        return refusal.code[:100]
    return "" if answer.ok else f"HTTP {answer.status}"


def webhook_deliver(*, delivery_id: str) -> str:
    """Attempt one due delivery now; return its status afterwards ("busy" if not due or held elsewhere).

    2xx: delivered, body emptied. Otherwise the next attempt is scheduled after ``BACKOFF``, and after the
    last one the delivery is marked failed (kept sealed, visible to staff, retried only by them).
    """
    delivery = _claim(delivery_id)
    if delivery is None:
        return "busy"
    error = _attempt(delivery)
    now = timezone.now()
    fields: dict[str, Any]
    if not error:
        fields = {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "body": "", "last_error": ""}
    elif delivery.attempts > len(BACKOFF):
        fields = {"status": DeliveryStatus.FAILED, "last_error": error}
    else:
        fields = {
            "next_attempt_at": now + datetime.timedelta(seconds=BACKOFF[delivery.attempts - 1]),
            "last_error": error,
        }
    # Only if still ours: an erasure may have dropped it meanwhile.
    WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.QUEUED).update(**fields)
    return str(WebhookDelivery.objects.values_list("status", flat=True).get(pk=delivery.pk))


def webhook_deliver_due() -> dict[str, str]:
    """Attempt every due delivery (first attempts whose task was lost, retries after back-off)."""
    return {
        delivery_id: webhook_deliver(delivery_id=delivery_id)
        for delivery_id in selectors.webhook_deliveries_due()
    }


@transaction.atomic
def webhook_delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue a failed delivery again for a new round of attempts (staff, once the receiver is fixed)."""
    if delivery.status != DeliveryStatus.FAILED:
        raise _invalid(_("Only a failed delivery can be retried."))
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.QUEUED, 0, timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    transaction.on_commit(functools.partial(tasks.webhook_deliver_task.enqueue, str(delivery.pk)))
    return delivery
