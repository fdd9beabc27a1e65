"""The rules a structurally valid policy must also follow: cross-references and the law's limits.

Each rule returns ``Problem``s naming the key path, what is wrong and how to fix it; the loader turns the
path into a line of the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pacte.policy.schema import Policy

MAX_COOKIE_MONTHS = 13  # CNIL: consent cookies live at most 13 months
TERMS_PATH = "/terms/"  # where Pacte serves the [terms] table


@dataclass(frozen=True)
class Problem:
    path: tuple[str | int, ...]
    what: str
    fix: str


def check_rules(policy: Policy) -> list[Problem]:
    """Return every rule the policy breaks (empty when it is coherent)."""
    return [
        *_purpose_problems(policy),
        *_recipient_problems(policy),
        *_cookie_problems(policy),
        *_widget_problems(policy),
        *_terms_problems(policy),
        *_telemetry_problems(policy),
    ]


def _unknown(
    path: tuple[str | int, ...], what: str, value: str, known: Iterable[str], declare: str = ""
) -> Problem:
    """A reference to something the file does not declare: say what, and what it could be instead."""
    choices = ", ".join(sorted(known))
    fix = f"declare {declare} or use one of: {choices}" if declare else f"use one of: {choices}"
    return Problem(path, f"unknown {what} '{value}'", fix)


def _purpose_problems(policy: Policy) -> Iterator[Problem]:
    """Each purpose uses declared categories and a declared retention, and consent goes with consent."""
    for pid, purpose in policy.purposes.items():
        for cid in purpose.categories:
            if cid not in policy.categories:
                path = ("purposes", pid, "categories")
                yield _unknown(path, "category", cid, policy.categories, f'[categories."{cid}"]')
        if purpose.retention not in policy.retention:
            path = ("purposes", pid, "retention")
            declare = f"[retention.{purpose.retention}]"
            yield _unknown(path, "retention class", purpose.retention, policy.retention, declare)
        if purpose.legal_basis == "consent" and not purpose.consent_required:
            yield Problem(
                ("purposes", pid, "consent_required"),
                "a purpose based on consent must require consent",
                "set consent_required = true",
            )
        if purpose.consent_required and purpose.legal_basis != "consent":
            yield Problem(
                ("purposes", pid, "legal_basis"),
                f"a purpose that requires consent cannot rest on '{purpose.legal_basis}'",
                'set legal_basis = "consent", or consent_required = false if another basis truly applies',
            )


def _recipient_problems(policy: Policy) -> Iterator[Problem]:
    """Recipients get only what their purposes use; partners and consent-based ones only with consent."""
    for rid, recipient in policy.recipients.items():
        used: set[str] = set()
        for pid in recipient.purposes:
            if pid in policy.purposes:
                used.update(policy.purposes[pid].categories)
            else:
                yield _unknown(("recipients", rid, "purposes"), "purpose", pid, policy.purposes)
        for cid in recipient.categories:
            if cid not in policy.categories:
                yield _unknown(("recipients", rid, "categories"), "category", cid, policy.categories)
            elif cid not in used:
                yield Problem(
                    ("recipients", rid, "categories"),
                    f"category '{cid}' is sent to '{rid}' but none of its purposes uses it",
                    "remove it (only what is strictly necessary is shared) or add it to one of its purposes",
                )
        if recipient.kind == "partner" and not recipient.consent_required:
            yield Problem(
                ("recipients", rid, "consent_required"),
                "a commercial partner never receives personal data without the customer's consent",
                "set consent_required = true",
            )
        if recipient.consent_required:
            for pid in recipient.purposes:
                linked = policy.purposes.get(pid)
                if linked is not None and not linked.consent_required:
                    yield Problem(
                        ("recipients", rid, "purposes"),
                        f"'{rid}' requires consent but its purpose '{pid}' does not",
                        f"give '{rid}' a consent-based purpose",
                    )


def _cookie_problems(policy: Policy) -> Iterator[Problem]:
    """Cookies live at most 13 months, and only strictly necessary ones go without consent."""
    for name, cookie in policy.cookies.items():
        if cookie.lifetime.in_months > MAX_COOKIE_MONTHS + 1e-9:
            yield Problem(
                ("cookies", name, "lifetime"),
                f"a cookie may live at most {MAX_COOKIE_MONTHS} months, '{name}' lives {cookie.lifetime}",
                'shorten it, e.g. lifetime = "P13M"',
            )
        purpose = policy.purposes.get(cookie.purpose)
        if purpose is None:
            yield _unknown(("cookies", name, "purpose"), "purpose", cookie.purpose, policy.purposes)
        elif cookie.category != "strictly_necessary" and not purpose.consent_required:
            yield Problem(
                ("cookies", name, "purpose"),
                f"the {cookie.category} cookie '{name}' is set without consent",
                "give it a consent-based purpose, or classify it strictly_necessary if it truly is",
            )


def _widget_problems(policy: Policy) -> Iterator[Problem]:
    """A third-party widget talks to a declared recipient and loads only after consent."""
    for wid, widget in policy.widgets.items():
        if widget.recipient not in policy.recipients:
            path = ("widgets", wid, "recipient")
            declare = f"[recipients.{widget.recipient}]"
            yield _unknown(path, "recipient", widget.recipient, policy.recipients, declare)
        purpose = policy.purposes.get(widget.purpose)
        if purpose is None:
            yield _unknown(("widgets", wid, "purpose"), "purpose", widget.purpose, policy.purposes)
        elif not purpose.consent_required:
            yield Problem(
                ("widgets", wid, "purpose"),
                "a third-party widget loads only after consent",
                "give it a purpose with consent_required = true",
            )


def _terms_problems(policy: Policy) -> list[Problem]:
    """The terms accepted at registration must exist where sign-up says they are."""
    url = policy.operator.terms_url
    if policy.terms is None and url == TERMS_PATH:
        return [
            Problem(
                ("operator", "terms_url"),
                f"sign-up asks people to accept the terms of use at {TERMS_PATH}, but the file has no [terms] table",
                "add a [terms] table (title and [[terms.sections]]), "
                "or set terms_url to the address where your terms are published",
            )
        ]
    if policy.terms is not None and url != TERMS_PATH:
        return [
            Problem(
                ("operator", "terms_url"),
                f"the file declares [terms] but terms_url sends people to {url!r}",
                f'remove terms_url (it defaults to "{TERMS_PATH}", where [terms] is served) or remove [terms]',
            )
        ]
    return []


def _telemetry_problems(policy: Policy) -> Iterator[Problem]:
    """``[telemetry]`` names purposes the file declares."""
    for key in ("purpose", "diagnostics_purpose"):
        value = getattr(policy.telemetry, key)
        if value is not None and value not in policy.purposes:
            yield _unknown(("telemetry", key), "purpose", value, policy.purposes)
