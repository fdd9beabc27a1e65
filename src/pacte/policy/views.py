"""The public privacy notice, the terms of use, and their archives of versions."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from pacte.core.i18n import current_language
from pacte.policy import selectors, services
from pacte.policy.render import notice_html_cached, terms_context
from pacte.policy.rules import TERMS_PATH
from pacte.policy.schema import Policy, Terms


@require_safe
def notice(request: HttpRequest) -> HttpResponse:
    """Show the policy in force, in the visitor's language."""
    version = services.policy_version_record_active()
    policy = selectors.policy_active()
    body = mark_safe(notice_html_cached(policy, version, current_language()))  # noqa: S308 - rendered by our template
    return render(request, "policy/notice.html", {"body": body, "operator": policy.operator})


@require_safe
def versions(request: HttpRequest) -> HttpResponse:
    """List every version of the policy the system has obeyed."""
    current = services.policy_version_record_active()
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
    body = mark_safe(notice_html_cached(policy, found, current_language()))  # noqa: S308
    return render(request, "policy/notice.html", {"body": body, "operator": policy.operator})


def _terms_page(
    request: HttpRequest, policy: Policy, terms: Terms, *, number: int, archived: bool
) -> HttpResponse:
    since = selectors.policy_version_get(number=number)
    context = {
        **terms_context(terms, current_language()),
        "operator": policy.operator,
        "number": number,
        "since": since.loaded_at if since else None,
        "sha256": terms.sha256(),
        "archived": archived,
    }
    return render(request, "policy/terms.html", context)


@require_safe
def terms(request: HttpRequest) -> HttpResponse:
    """Show the terms of use in force, in the visitor's language."""
    current = selectors.terms_current(version=services.policy_version_record_active())
    policy = selectors.policy_active()
    if policy.terms is None or current.version is None:
        if current.url != TERMS_PATH:  # the operator publishes them elsewhere
            return redirect(current.url)
        raise Http404
    return _terms_page(request, policy, policy.terms, number=current.version, archived=False)


@require_safe
def terms_versions(request: HttpRequest) -> HttpResponse:
    """List every distinct version of the terms of use."""
    current = selectors.terms_current(version=services.policy_version_record_active())
    return render(
        request,
        "policy/terms_versions.html",
        {"versions": selectors.terms_version_list(), "current": current},
    )


@require_safe
def terms_version(request: HttpRequest, number: int) -> HttpResponse:
    """Show the terms of use of policy version ``number`` exactly as they were."""
    found = selectors.terms_of_version(number=number)
    if found is None:
        raise Http404
    version, old_terms = found
    first = selectors.terms_first_version(sha256=old_terms.sha256(), up_to=version.number)
    policy = selectors.policy_of_version(version)
    return _terms_page(request, policy, old_terms, number=first, archived=True)
