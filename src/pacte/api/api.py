"""The consent API (django-ninja) at /api/v1/, for the operator's other systems.

Every answer that is not a success is ``application/problem+json`` (RFC 9457) with a 4xx status:
a bad or missing key, a malformed subject id, an unknown subject or purpose, a bad body.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any, Literal

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import Field

from pacte.core.errors import PacteError


class KeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from pacte.api.services import apikey_authenticate

        return apikey_authenticate(secret=token)


api = NinjaAPI(
    title="Pacte consent API",
    version="1",
    urls_namespace="api",
    docs_url=None,  # no documentation UI: it would load assets from a CDN
    openapi_url="/openapi.json",
    auth=KeyAuth(),
)


def problem(status: int, title: str, code: str, detail: str = "") -> JsonResponse:
    body = {"type": f"urn:pacte:error:{code}", "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    return JsonResponse(body, status=status, content_type="application/problem+json")


@api.exception_handler(PacteError)
def _pacte_error(request: HttpRequest, error: PacteError) -> HttpResponse:
    return problem(error.status if 400 <= error.status < 500 else 422, str(error.message), error.code)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, error: Exception) -> HttpResponse:
    return problem(401, "A valid API key is required (Authorization: Bearer <key>).", "api.unauthorized")


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    details = "; ".join(
        f"{'.'.join(str(part) for part in item.get('loc', []))}: {item.get('msg', '')}"
        for item in error.errors
    )
    return problem(422, "The request is not valid.", "api.invalid_request", details[:1000])


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Exception) -> HttpResponse:
    return problem(404, "Not found.", "api.not_found")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    code = "api.bad_request" if error.status_code == 400 else "api.http_error"
    return problem(error.status_code, str(error), code)


class ConsentOut(Schema):
    purpose: str
    granted: bool
    changed_at: datetime.datetime | None
    source: str | None
    policy_version: int | None
    receipt_seq: int | None


class ConsentIn(Schema):
    purpose: str = Field(min_length=1, max_length=64)
    granted: bool
    source: Literal["api", "staff", "email_link", "subscribe_form"] = "api"
    evidence: str = Field(default="", max_length=500)


class ConsentChange(ConsentOut):
    receipt: dict


def _subject(subject_id: uuid.UUID) -> Any:
    from pacte.subjects.models import Subject

    subject = Subject.objects.filter(pk=subject_id).first()
    if subject is None:
        raise PacteError("There is no such data subject.", "consent.unknown_subject", status=404)
    return subject


def _row(row: dict) -> dict:
    return {
        "purpose": row["purpose"],
        "granted": row["granted"],
        "changed_at": row["changed_at"],
        "source": row["source"],
        "policy_version": row["policy_version"],
        "receipt_seq": row["entry_seq"],
    }


@api.get("/subjects/{subject_id}/consents", response=list[ConsentOut])
def consents_list(request: HttpRequest, subject_id: uuid.UUID) -> list[dict]:
    """Every consent purpose of the policy with this subject's state (never asked = not granted)."""
    from pacte.consent.selectors import consent_list

    _subject(subject_id)
    return [_row(row) for row in consent_list(subject_id=subject_id)]


@api.get("/subjects/{subject_id}/consents/{purpose}", response=ConsentOut)
def consent_get(request: HttpRequest, subject_id: uuid.UUID, purpose: str) -> Any:
    """May we? One indexed read of the current state (the hot path: answered without re-validation)."""
    from pacte.consent.selectors import consent_state_read
    from pacte.consent.services import purpose_check

    purpose_check(purpose)
    body = consent_state_read(subject_id=subject_id, purpose=purpose)
    if body is None:
        _subject(subject_id)
        body = {
            "purpose": purpose,
            "granted": False,
            "changed_at": None,
            "source": None,
            "policy_version": None,
            "receipt_seq": None,
        }
    else:
        body["changed_at"] = body["changed_at"].isoformat()
    return JsonResponse(body)


@api.post("/subjects/{subject_id}/consents", response={200: ConsentChange})
def consent_post(request: HttpRequest, subject_id: uuid.UUID, payload: ConsentIn) -> dict:
    """Grant or withdraw a purpose; the answer carries the ledger receipt of the change."""
    from pacte.api.models import ConsentEvidence
    from pacte.consent.services import consent_set
    from pacte.ledger.selectors import receipt_build

    key = request.auth  # type: ignore[attr-defined]
    subject = _subject(subject_id)
    with transaction.atomic():
        state = consent_set(
            subject_id=subject.pk,
            purpose=payload.purpose,
            granted=payload.granted,
            source=payload.source,
            actor=f"api:{key.prefix}",
        )
        if state is not None and payload.evidence:
            ConsentEvidence.objects.create(
                subject=subject, entry_seq=state.entry_seq, evidence=payload.evidence, api_key=key
            )
    if state is None:  # withdrawing what was never granted: nothing to record
        return {
            "purpose": payload.purpose,
            "granted": False,
            "changed_at": None,
            "source": None,
            "policy_version": None,
            "receipt_seq": None,
            "receipt": {},
        }
    return {
        "purpose": state.purpose,
        "granted": state.granted,
        "changed_at": state.changed_at,
        "source": state.source,
        "policy_version": state.policy_version,
        "receipt_seq": state.entry_seq,
        "receipt": receipt_build(seq=state.entry_seq),
    }
