"""The public privacy notice and its archive of versions."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from pacte.policy import selectors
from pacte.policy.render import notice_html


def _lang() -> str:
    return "en" if (get_language() or "fr").startswith("en") else "fr"


# The notice of one version in one language never changes: render it once per process.
notice_cache: dict[tuple[str, str], str] = {}


def _notice_body(policy: Any, version: Any, lang: str) -> str:
    key = (version.sha256, lang)
    body = notice_cache.get(key)
    if body is None:
        body = notice_cache[key] = notice_html(policy, lang, version=version)
    return body


@require_safe
def notice(request: HttpRequest) -> HttpResponse:
    """Show the policy in force, in the visitor's language."""
    version = selectors.policy_version_current()
    policy = selectors.policy_active()
    body = mark_safe(_notice_body(policy, version, _lang()))  # noqa: S308 - rendered by our template
    return render(request, "policy/notice.html", {"body": body, "operator": policy.operator})


@require_safe
def versions(request: HttpRequest) -> HttpResponse:
    """List every version of the policy the system has obeyed."""
    current = selectors.policy_version_current()
    return render(
        request, "policy/versions.html", {"versions": selectors.policy_version_list(), "current": current}
    )


@require_safe
def version(request: HttpRequest, number: int) -> HttpResponse:
    """Show version ``number`` exactly as it was."""
    found = selectors.policy_version_get(number=number)
    if found is None:
        raise Http404
    policy = selectors.policy_of_version(found)
    body = mark_safe(_notice_body(policy, found, _lang()))  # noqa: S308
    return render(request, "policy/notice.html", {"body": body, "operator": policy.operator})
