"""The consent API (django-ninja) at /api/v1/, for the operator's other systems.

Every answer that is not a success is ``application/problem+json`` (RFC 9457) with a 4xx status:
a bad or missing key, a malformed subject id, an unknown subject or purpose, a bad or too large body,
an unknown route or a method the route does not answer. The OpenAPI document declares each of them.
Every timestamp is RFC 3339 in UTC with microseconds and ``Z`` (as in ledger receipts).
"""

from __future__ import annotations

import datetime
import functools
import logging
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import ConfigDict, Field, StrictBool, StrictStr

from pacte.api import error_codes, services
from pacte.api.models import ConsentEvidence
from pacte.consent import error_codes as consent_codes
from pacte.consent import selectors as consent_selectors
from pacte.consent import services as consent_services
from pacte.core.errors import PROBLEM_JSON, PacteError, problem_response
from pacte.ledger.selectors import receipt_build
from pacte.subjects.selectors import subject_get

logger = logging.getLogger(__name__)

# A consent change is a few hundred bytes; anything much larger is refused before it is read.
MAX_BODY_BYTES = 64 * 1024
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the form of ledger receipts' "time"
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"


class KeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return services.apikey_authenticate(secret=token)


class ProblemError(Schema):
    loc: list[str | int]
    msg: str
    type: str


class Problem(Schema):
    """An RFC 9457 problem: ``code`` is stable for programs, ``title`` is for people (translated)."""

    type: str = Field(examples=["urn:pacte:error:api.invalid_request"])
    title: str
    status: int = Field(ge=400, le=599)
    code: str
    detail: str = Field(default="", description="Present only when there is more to say.")
    errors: list[ProblemError] = Field(default=[], description="Present only on invalid input (422).")


class PacteAPI(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """Declare error answers as application/problem+json, the type they are sent with."""
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation["responses"].items():
                    if int(status) >= 400 and "content" in response:
                        response["content"] = {PROBLEM_JSON: next(iter(response["content"].values()))}
        return schema


api = PacteAPI(
    title="Pacte consent API",
    version="1",
    urls_namespace="api",
    docs_url=None,  # no documentation UI: it would load assets from a CDN
    openapi_url="/openapi.json",
    auth=KeyAuth(),
)


def problem_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an API view: refuse a too large body unread, and answer a wrong method with a problem."""

    @functools.wraps(view)  # keeps csrf_exempt
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return problem_response(
                400, _("The Content-Length header is not a number."), error_codes.BAD_REQUEST
            )
        if length > MAX_BODY_BYTES:
            return _too_large()
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type") != PROBLEM_JSON:
            allowed = response.get("Allow", "")
            response = problem_response(
                405,
                _("This method is not allowed here."),
                error_codes.METHOD_NOT_ALLOWED,
                detail=_("Allowed: %(methods)s.") % {"methods": allowed},
            )
            response["Allow"] = allowed
        return response

    return wrapped


def _too_large() -> JsonResponse:
    return problem_response(
        413,
        _("The request body is too large."),
        error_codes.BODY_TOO_LARGE,
        detail=_("At most %(size)d bytes are accepted.") % {"size": MAX_BODY_BYTES},
    )


@api.exception_handler(PacteError)
def _pacte_error(request: HttpRequest, error: PacteError) -> HttpResponse:
    return problem_response(
        error.status if 400 <= error.status < 500 else 422, str(error.message), error.code
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, error: Exception) -> HttpResponse:
    return problem_response(
        401, _("A valid API key is required (Authorization: Bearer <key>)."), error_codes.UNAUTHORIZED
    )


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, error: ValidationError) -> HttpResponse:
    # The submitted values are not echoed back: only where the error is and what is wrong.
    errors = [
        {
            "loc": [part for part in item.get("loc", []) if isinstance(part, str | int)],
            "msg": str(item.get("msg", ""))[:200],
            "type": str(item.get("type", "")),
        }
        for item in error.errors[:20]
    ]
    detail = "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in errors)
    return problem_response(
        422, _("The request is not valid."), error_codes.INVALID_REQUEST, detail=detail[:1000], errors=errors
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, error: Exception) -> HttpResponse:
    return problem_response(404, _("Not found."), error_codes.NOT_FOUND)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if error.status_code == 400:
        return problem_response(
            400, _("The request body is not valid JSON."), error_codes.BAD_REQUEST, detail=str(error)
        )
    return problem_response(error.status_code, str(error), error_codes.HTTP_ERROR)


@api.exception_handler(RequestDataTooBig)
def _data_too_big(request: HttpRequest, error: Exception) -> HttpResponse:
    return _too_large()  # a body without Content-Length that Django refused while reading it


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, error: Exception) -> HttpResponse:
    # The route, not the path: no subject id in the log.
    route = request.resolver_match.route if request.resolver_match else "?"
    logger.exception("API request failed: %s %s", request.method, route)
    return problem_response(500, _("Internal error; nothing was changed."), error_codes.INTERNAL_ERROR)


Timestamp = Annotated[
    str,
    Field(
        pattern=TIME_PATTERN,
        json_schema_extra={"format": "date-time"},
        examples=["2026-11-30T20:00:00.000000Z"],
    ),
]


def timestamp(moment: datetime.datetime | None) -> str | None:
    """Format ``moment`` as the API's one timestamp form: RFC 3339, UTC, microseconds, ``Z``."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # a naive value read from the database is UTC (USE_TZ)
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).strftime(TIME_FORMAT)


class ConsentOut(Schema):
    purpose: str
    granted: bool = Field(description="May we? False when never asked, withdrawn, or while restricted.")
    restricted: bool = Field(description="Processing of this subject is restricted (GDPR art. 18).")
    changed_at: Timestamp | None
    source: str | None
    policy_version: int | None
    receipt_seq: int | None


class ConsentIn(Schema):
    """A change asked by an API key: strict JSON types, no unknown field, the source is always "api"."""

    model_config = ConfigDict(extra="forbid")

    purpose: StrictStr = Field(min_length=1, max_length=64)
    granted: StrictBool
    source: Literal["api"] = "api"
    evidence: StrictStr = Field(default="", max_length=500)


class ConsentChange(ConsentOut):
    receipt: dict


# The error answers each operation can give, declared in the OpenAPI document (400 on a GET: a
# Content-Length that is not a number; 410: an erased subject).
ERRORS_GET: dict[int, type[Schema]] = {status: Problem for status in (400, 401, 404, 413, 422)}
ERRORS_POST: dict[int, type[Schema]] = {status: Problem for status in (400, 401, 404, 410, 413, 422)}


def _subject(subject_id: uuid.UUID) -> Any:
    subject = subject_get(subject_id=subject_id)
    if subject is None:
        raise PacteError(_("There is no such data subject."), consent_codes.UNKNOWN_SUBJECT, status=404)
    return subject


def _out(view: consent_selectors.ConsentView) -> dict:
    """The API form of a ``ConsentView`` (the one read model of consent)."""
    return {
        "purpose": view.purpose,
        "granted": view.granted,
        "restricted": view.restricted,
        "changed_at": timestamp(view.changed_at),
        "source": view.source,
        "policy_version": view.policy_version,
        "receipt_seq": view.entry_seq,
    }


@api.get("/subjects/{subject_id}/consents", response={200: list[ConsentOut], **ERRORS_GET})
def consents_list(request: HttpRequest, subject_id: uuid.UUID) -> list[dict]:
    """Every consent purpose of the policy with this subject's state (never asked = not granted)."""
    _subject(subject_id)
    return [_out(view) for view in consent_selectors.consent_list(subject_id=subject_id)]


@api.get("/subjects/{subject_id}/consents/{purpose}", response={200: ConsentOut, **ERRORS_GET})
def consent_get(request: HttpRequest, subject_id: uuid.UUID, purpose: str) -> Any:
    """May we? One indexed read of the current state (the hot path: answered without re-validation)."""
    consent_services.purpose_check(purpose)
    view = consent_selectors.consent_get(subject_id=subject_id, purpose=purpose)
    if view is None:
        raise PacteError(_("There is no such data subject."), consent_codes.UNKNOWN_SUBJECT, status=404)
    return JsonResponse(_out(view))


@api.post("/subjects/{subject_id}/consents", response={200: ConsentChange, **ERRORS_POST})
def consent_post(request: HttpRequest, subject_id: uuid.UUID, payload: ConsentIn) -> dict:
    """Grant or withdraw a purpose; the answer carries the ledger receipt of the change."""
    key = request.auth  # type: ignore[attr-defined]
    subject = _subject(subject_id)
    with transaction.atomic():
        state = consent_services.consent_set(
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
    # The state as every reader sees it (not granted while restricted); no receipt when nothing changed
    # because it was never granted.
    view = consent_selectors.consent_get(subject_id=subject.pk, purpose=payload.purpose)
    assert view is not None  # the subject exists: consent_set just checked it
    receipt = receipt_build(seq=state.entry_seq) if state is not None else {}
    return {**_out(view), "receipt": receipt}
