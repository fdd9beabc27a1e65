"""Writes of sharing for requests from authorities: record, approve (a second person), reject, lift a gag.

Kept apart from ``services.py`` (the gate itself); an approval discloses through ``services.disclose``
like any other disclosure, as the recipient ``authorities`` of the policy.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pacte.accounts.selectors import account_contact
from pacte.core.errors import PacteError
from pacte.ledger.selectors import entry_seqs
from pacte.ledger.services import entry_append
from pacte.messaging.services import message_queue
from pacte.policy.schema import Policy
from pacte.policy.selectors import policy_active
from pacte.sharing import error_codes
from pacte.sharing.models import AuthorityKind, AuthorityRequest, AuthorityRequestSubject, AuthorityState
from pacte.sharing.services import Disclosure, disclose
from pacte.subjects.selectors import subject_get

# The recipient, in every policy, that stands for the authorities (both shipped policies declare it).
AUTHORITIES = "authorities"


def authority_scope(policy: Policy | None = None) -> tuple[str, frozenset[str]]:
    """Return the purpose an authority request is answered for, and the categories it may receive.

    The purpose is the first one the policy gives the ``authorities`` recipient; the categories are
    those the recipient may receive *and* that purpose uses (what ``disclose`` would keep).
    """
    policy = policy or policy_active()
    declared = policy.recipients.get(AUTHORITIES)
    if declared is None or not declared.purposes or declared.purposes[0] not in policy.purposes:
        raise PacteError(
            _(
                "The policy declares no recipient 'authorities' with a purpose: add [recipients.authorities] "
                "before recording requests from authorities."
            ),
            error_codes.AUTHORITY_NOT_DECLARED,
        )
    purpose = declared.purposes[0]
    return purpose, frozenset(declared.categories) & frozenset(policy.purposes[purpose].categories)


def _step(request: AuthorityRequest, step: str, actor: str) -> None:
    # No subject and no value: the request's id and what happened, nothing a gagged person could see.
    entry_append(
        type="authority.step",
        subject_id=None,
        actor=actor,
        payload={"request_id": str(request.pk), "step": step},
    )


def _required(value: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise PacteError(
            _("%(field)s is missing: fill it in.") % {"field": label}, error_codes.AUTHORITY_FIELD_MISSING
        )
    return value


def _subjects(subject_ids: Iterable[Any]) -> list[uuid.UUID]:
    """Return the distinct subject ids, each a known person not erased; refuse anything else."""
    seen: list[uuid.UUID] = []
    for raw in subject_ids:
        text = str(raw).strip()
        if not text:
            continue
        try:
            subject_id = uuid.UUID(text)
        except ValueError:
            raise PacteError(
                _("%(value)s is not a person's id (a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e).")
                % {"value": repr(text[:60])},
                error_codes.AUTHORITY_UNKNOWN_SUBJECT,
            ) from None
        subject = subject_get(subject_id=subject_id)
        if subject is None or subject.erased_at is not None:
            raise PacteError(
                _("There is no person with the id %(value)s (unknown or erased).") % {"value": text},
                error_codes.AUTHORITY_UNKNOWN_SUBJECT,
            )
        if subject_id not in seen:
            seen.append(subject_id)
    if not seen:
        raise PacteError(
            _("Name at least one person concerned, by their id."), error_codes.AUTHORITY_NO_SUBJECT
        )
    return seen


@transaction.atomic
def authority_request_record(
    *,
    authority_name: str,
    authority_kind: str,
    legal_basis: str,
    reference: str,
    received_on: datetime.date,
    subject_ids: Iterable[Any],
    categories: Iterable[str],
    gag: bool = False,
    gag_reference: str = "",
    recorded_by: str,
) -> AuthorityRequest:
    """Record a request from an authority; it waits for a second person to approve or reject it.

    Refuses (coded ``PacteError``, nothing written) a missing authority, kind, legal basis or reference,
    a date in the future, an unknown or erased person, a category the policy does not declare, a
    request of which the policy lets the authorities receive nothing, and a gag without its legal
    reference. Writes an ``authority.step`` ledger entry ``recorded`` (no subject, no value).
    """
    policy = policy_active()
    _purpose, allowed = authority_scope(policy)
    name = _required(authority_name, _("The authority"))
    if authority_kind not in AuthorityKind.values:
        raise PacteError(
            _("Choose the kind of authority among: %(valid)s.") % {"valid": ", ".join(AuthorityKind.values)},
            error_codes.AUTHORITY_UNKNOWN_KIND,
        )
    basis = _required(legal_basis, _("The legal basis"))
    ref = _required(reference, _("The reference of the request"))
    if not isinstance(received_on, datetime.date) or received_on > timezone.localdate():
        raise PacteError(
            _("The date the request was received must be a past date (or today)."),
            error_codes.AUTHORITY_BAD_DATE,
        )
    wanted = sorted(set(categories))
    unknown = [category for category in wanted if category not in policy.categories]
    if unknown or not wanted:
        raise PacteError(
            _("The policy declares no category %(unknown)s. Choose among: %(valid)s.")
            % {"unknown": ", ".join(unknown) or "—", "valid": ", ".join(sorted(policy.categories))},
            error_codes.AUTHORITY_UNKNOWN_CATEGORY,
        )
    if not set(wanted) & allowed:
        raise PacteError(
            _(
                "The policy lets the authorities receive none of these kinds of data; they may receive: "
                "%(valid)s."
            )
            % {"valid": ", ".join(sorted(allowed))},
            error_codes.AUTHORITY_NOTHING_ALLOWED,
        )
    gag_ref = (gag_reference or "").strip()
    if gag and not gag_ref:
        raise PacteError(
            _(
                "A ban on telling the person needs its legal reference (the article or the order that imposes it)."
            ),
            error_codes.AUTHORITY_GAG_REFERENCE_MISSING,
        )
    people = _subjects(subject_ids)
    request = AuthorityRequest(
        authority_name=name,
        authority_kind=authority_kind,
        legal_basis=basis,
        reference=ref,
        received_on=received_on,
        categories=wanted,
        gag=bool(gag),
        gag_reference=gag_ref if gag else "",
        recorded_by=recorded_by,
    )
    request.full_clean()
    request.save()
    for subject_id in people:
        link = AuthorityRequestSubject(request=request, subject_id=subject_id)
        link.full_clean(exclude=["request", "subject"])
        link.save()
    _step(request, "recorded", recorded_by)
    return request


def _lock(request: AuthorityRequest, *, actor: str) -> AuthorityRequest:
    """Return the request locked for this transaction, refusing one decided already or its recorder."""
    locked = AuthorityRequest.objects.select_for_update().get(pk=request.pk)
    if locked.state != AuthorityState.RECORDED:
        raise PacteError(
            _("This request was already decided (%(state)s): it cannot be decided again.")
            % {"state": locked.get_state_display()},
            error_codes.AUTHORITY_ALREADY_DECIDED,
            status=409,
        )
    if actor == locked.recorded_by:
        raise PacteError(
            _("You recorded this request: another person must approve or reject it (two-person rule)."),
            error_codes.AUTHORITY_SAME_PERSON,
            status=403,
        )
    return locked


@transaction.atomic
def authority_request_approve(*, request: AuthorityRequest, approver: str) -> list[Disclosure]:
    """Approve a recorded request as a second person, disclose through the gate, tell the people.

    Refuses its recorder and a request already decided (coded errors, nothing written). For each person
    concerned, ``disclose`` checks and records the disclosure to ``authorities`` for the recipient's
    purpose, keeping only the requested categories the policy allows; a refusal of any of them (a
    restricted person, say) undoes the whole approval. The people are told by mail and see it in "Who
    received my data", unless the request forbids telling them (then only once the ban is lifted).
    Returns one ``Disclosure`` per person: the kinds of data to hand over, and nothing else.
    """
    locked = _lock(request, actor=approver)
    now = timezone.now()
    locked.state = AuthorityState.APPROVED
    locked.approved_by = approver
    locked.decided_at = now
    locked.full_clean()
    locked.save(update_fields=["state", "approved_by", "decided_at"])
    _step(locked, "approved", approver)

    purpose, _allowed = authority_scope()
    sent: list[Disclosure] = []
    links = list(locked.subjects.order_by("subject_id"))
    for link in links:
        disclosure = disclose(
            recipient=AUTHORITIES,
            purpose=purpose,
            subject_id=link.subject_id,
            # The values are handed over by staff; what leaves is decided, and recorded, here.
            data={category: (category, None) for category in locked.categories},
            actor=approver,
        )
        link.categories_disclosed = list(disclosure.categories_sent)
        # disclose() has just appended this person's newest disclosure entry, in this transaction.
        seqs = entry_seqs(subject_id=link.subject_id, types=["disclosure"]) if disclosure.payload else []
        link.disclosure_seq = seqs[-1] if seqs else None
        link.save(update_fields=["categories_disclosed", "disclosure_seq"])
        sent.append(disclosure)

    locked.state = AuthorityState.DISCLOSED
    locked.disclosed_at = now
    locked.save(update_fields=["state", "disclosed_at"])
    _step(locked, "disclosed", approver)
    if not locked.gagged:
        _tell(locked, links)
    request.refresh_from_db()
    return sent


@transaction.atomic
def authority_request_reject(*, request: AuthorityRequest, rejecter: str, reason: str) -> AuthorityRequest:
    """Reject a recorded request as a second person, with its reason; nothing is disclosed.

    Refuses its recorder, a request already decided and a missing reason (coded errors, nothing written).
    The reason names the law or the defect, never a person.
    """
    locked = _lock(request, actor=rejecter)
    locked.rejection_reason = _required(reason, _("The reason of the rejection"))
    locked.state = AuthorityState.REJECTED
    locked.rejected_by = rejecter
    locked.decided_at = timezone.now()
    locked.full_clean()
    locked.save(update_fields=["rejection_reason", "state", "rejected_by", "decided_at"])
    _step(locked, "rejected", rejecter)
    request.refresh_from_db()
    return request


@transaction.atomic
def authority_request_gag_lift(*, request: AuthorityRequest, actor: str) -> AuthorityRequest:
    """Lift a request's ban on telling the people concerned; tell them now if data was disclosed.

    Refuses (coded error, nothing written) a request that has no ban, or whose ban was lifted already.
    """
    locked = AuthorityRequest.objects.select_for_update().get(pk=request.pk)
    if not locked.gagged:
        raise PacteError(
            _("This request has no ban on telling the people concerned, or it was lifted already."),
            error_codes.AUTHORITY_NOT_GAGGED,
            status=409,
        )
    locked.gag_lifted_at = timezone.now()
    locked.save(update_fields=["gag_lifted_at"])
    _step(locked, "gag_lifted", actor)
    if locked.state == AuthorityState.DISCLOSED:
        _tell(locked, list(locked.subjects.order_by("subject_id")))
    request.refresh_from_db()
    return request


def _tell(request: AuthorityRequest, links: list[AuthorityRequestSubject]) -> None:
    """Write to each person concerned who has an account, in their language, through the outbox."""
    policy = policy_active()
    url = settings.PACTE_BASE_URL.rstrip("/") + reverse("sharing:my_disclosures")
    now = timezone.now()
    for link in links:
        if not link.categories_disclosed:
            continue
        contact = account_contact(subject_id=link.subject_id)
        if contact is None or not contact.address:
            continue
        lang = contact.language if contact.language in ("fr", "en") else "fr"
        with translation.override(lang):
            labels = [
                policy.categories[c].label.get(lang) if c in policy.categories else c
                for c in link.categories_disclosed
            ]
            subject_line = _("An authority received some of your data")
            body = _(
                "%(authority)s (%(kind)s) asked us for data about you on %(date)s, reference %(reference)s, "
                "under: %(basis)s.\n\n"
                "A second person checked the request, and we passed on only these kinds of data: "
                "%(categories)s.\n\n"
                "Every disclosure of your data is listed in your account: %(url)s\n"
            ) % {
                "authority": request.authority_name,
                "kind": request.get_authority_kind_display(),
                "date": request.received_on.isoformat(),
                "reference": request.reference,
                "basis": request.legal_basis,
                "categories": ", ".join(labels),
                "url": url,
            }
        message_queue(
            subject_id=link.subject_id,
            to=contact.address,
            subject_line=subject_line,
            body=body,
            template="sharing/authority_disclosure",
        )
        link.told_at = now
        link.save(update_fields=["told_at"])
