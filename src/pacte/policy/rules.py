"""The rules a structurally valid policy must also follow: cross-references and the law's limits.

Each rule returns ``Problem``s naming the key path, what is wrong and how to fix it; the loader turns the
path into a line of the file.
"""

from __future__ import annotations

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
    problems: list[Problem] = []
    categories = set(policy.categories)
    classes = set(policy.retention)

    for pid, purpose in policy.purposes.items():
        for cid in purpose.categories:
            if cid not in categories:
                problems.append(
                    Problem(
                        ("purposes", pid, "categories"),
                        f"unknown category '{cid}'",
                        f'declare [categories."{cid}"] or use one of: {", ".join(sorted(categories))}',
                    )
                )
        if purpose.retention not in classes:
            problems.append(
                Problem(
                    ("purposes", pid, "retention"),
                    f"unknown retention class '{purpose.retention}'",
                    f"declare [retention.{purpose.retention}] or use one of: {', '.join(sorted(classes))}",
                )
            )
        if purpose.legal_basis == "consent" and not purpose.consent_required:
            problems.append(
                Problem(
                    ("purposes", pid, "consent_required"),
                    "a purpose based on consent must require consent",
                    "set consent_required = true",
                )
            )
        if purpose.consent_required and purpose.legal_basis != "consent":
            problems.append(
                Problem(
                    ("purposes", pid, "legal_basis"),
                    f"a purpose that requires consent cannot rest on '{purpose.legal_basis}'",
                    'set legal_basis = "consent", or consent_required = false if another basis truly applies',
                )
            )

    for rid, recipient in policy.recipients.items():
        used: set[str] = set()
        for pid in recipient.purposes:
            if pid not in policy.purposes:
                problems.append(
                    Problem(
                        ("recipients", rid, "purposes"),
                        f"unknown purpose '{pid}'",
                        f"use one of: {', '.join(sorted(policy.purposes))}",
                    )
                )
            else:
                used.update(policy.purposes[pid].categories)
        for cid in recipient.categories:
            if cid not in categories:
                problems.append(
                    Problem(
                        ("recipients", rid, "categories"),
                        f"unknown category '{cid}'",
                        f"use one of: {', '.join(sorted(categories))}",
                    )
                )
            elif cid not in used:
                problems.append(
                    Problem(
                        ("recipients", rid, "categories"),
                        f"category '{cid}' is sent to '{rid}' but none of its purposes uses it",
                        "remove it (only what is strictly necessary is shared) or add it to one of its purposes",
                    )
                )
        if recipient.kind == "partner" and not recipient.consent_required:
            problems.append(
                Problem(
                    ("recipients", rid, "consent_required"),
                    "a commercial partner never receives personal data without the customer's consent",
                    "set consent_required = true",
                )
            )
        if recipient.consent_required:
            for pid in recipient.purposes:
                linked = policy.purposes.get(pid)
                if linked is not None and not linked.consent_required:
                    problems.append(
                        Problem(
                            ("recipients", rid, "purposes"),
                            f"'{rid}' requires consent but its purpose '{pid}' does not",
                            f"give '{rid}' a consent-based purpose",
                        )
                    )

    for name, cookie in policy.cookies.items():
        if cookie.lifetime.in_months > MAX_COOKIE_MONTHS + 1e-9:
            problems.append(
                Problem(
                    ("cookies", name, "lifetime"),
                    f"a cookie may live at most {MAX_COOKIE_MONTHS} months, '{name}' lives {cookie.lifetime}",
                    'shorten it, e.g. lifetime = "P13M"',
                )
            )
        cookie_purpose = policy.purposes.get(cookie.purpose)
        if cookie_purpose is None:
            problems.append(
                Problem(
                    ("cookies", name, "purpose"),
                    f"unknown purpose '{cookie.purpose}'",
                    f"use one of: {', '.join(sorted(policy.purposes))}",
                )
            )
        elif cookie.category != "strictly_necessary" and not cookie_purpose.consent_required:
            problems.append(
                Problem(
                    ("cookies", name, "purpose"),
                    f"the {cookie.category} cookie '{name}' is set without consent",
                    "give it a consent-based purpose, or classify it strictly_necessary if it truly is",
                )
            )

    for wid, widget in policy.widgets.items():
        if widget.recipient not in policy.recipients:
            problems.append(
                Problem(
                    ("widgets", wid, "recipient"),
                    f"unknown recipient '{widget.recipient}'",
                    f"declare [recipients.{widget.recipient}] or use one of: {', '.join(sorted(policy.recipients))}",
                )
            )
        widget_purpose = policy.purposes.get(widget.purpose)
        if widget_purpose is None:
            problems.append(
                Problem(
                    ("widgets", wid, "purpose"),
                    f"unknown purpose '{widget.purpose}'",
                    f"use one of: {', '.join(sorted(policy.purposes))}",
                )
            )
        elif not widget_purpose.consent_required:
            problems.append(
                Problem(
                    ("widgets", wid, "purpose"),
                    "a third-party widget loads only after consent",
                    "give it a purpose with consent_required = true",
                )
            )
    problems.extend(_terms_problems(policy))
    return problems


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
