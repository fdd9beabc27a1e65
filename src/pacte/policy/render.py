"""Turn a policy into the public notice (HTML or Markdown) and the Art. 30 record of processing."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from pacte.policy.registry import measure_list
from pacte.policy.schema import Duration, Policy, Terms

EU_EEA = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
    "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
}  # fmt: skip


def _basis_label(basis: str) -> str:
    return {
        "contract": _("Performance of the contract (GDPR Art. 6(1)(b))"),
        "consent": _("Your consent (GDPR Art. 6(1)(a)), which you can withdraw at any time"),
        "legal_obligation": _("A legal obligation (GDPR Art. 6(1)(c))"),
        "legitimate_interest": _("Our legitimate interest (GDPR Art. 6(1)(f)), to which you can object"),
        "vital_interest": _("Vital interests (GDPR Art. 6(1)(d))"),
        "public_task": _("A task in the public interest (GDPR Art. 6(1)(e))"),
    }[basis]


def _kind_label(kind: str) -> str:
    return {
        "processor": _("Processor acting on our instructions"),
        "partner": _("Partner, only with your consent"),
        "authority": _("Authority, when the law requires it"),
    }[kind]


def _cookie_category_label(category: str) -> str:
    return {
        "strictly_necessary": _("Strictly necessary (no consent needed)"),
        "preferences": _("Preferences (with your consent)"),
        "analytics": _("Audience measurement (with your consent)"),
        "marketing": _("Marketing (with your consent)"),
        "widget": _("Third-party feature (with your consent)"),
    }[category]


def duration_text(duration: Duration) -> str:
    """Say a duration in the active language (``P13M`` → "13 months")."""
    parts = []
    for amount, singular, plural in (
        (duration.years, _("year"), _("years")),
        (duration.months, _("month"), _("months")),
        (duration.weeks, _("week"), _("weeks")),
        (duration.days, _("day"), _("days")),
        (duration.hours, _("hour"), _("hours")),
    ):
        if amount:
            parts.append(f"{amount} {singular if amount == 1 else plural}")
    return " ".join(parts) or _("no longer than needed")


def notice_context(policy: Policy, lang: str) -> dict[str, Any]:
    """Return every text of the notice, resolved in ``lang`` (``fr`` or ``en``)."""
    with translation.override(lang):
        cat = {cid: c.label.get(lang) for cid, c in policy.categories.items()}
        purposes = [
            {
                "id": pid,
                "label": p.label.get(lang),
                "description": p.description.get(lang),
                "basis": _basis_label(p.legal_basis),
                "legal_basis": p.legal_basis,
                "categories": [cat[c] for c in p.categories if c in cat],
                "retention": policy.retention[p.retention].label.get(lang)
                if p.retention in policy.retention
                else "",
                "consent_required": p.consent_required,
            }
            for pid, p in policy.purposes.items()
        ]
        recipients = [
            {
                "id": rid,
                "name": r.name,
                "kind": _kind_label(r.kind),
                "country": r.country,
                "outside_eu": r.country not in EU_EEA,
                "description": r.description.get(lang),
                "purposes": [policy.purposes[p].label.get(lang) for p in r.purposes if p in policy.purposes],
                "categories": [cat[c] for c in r.categories if c in cat],
                "hosts": list(r.hosts),
            }
            for rid, r in policy.recipients.items()
        ]
        cookies = [
            {
                "name": name,
                "category": _cookie_category_label(c.category),
                "lifetime": duration_text(c.lifetime),
                "description": c.description.get(lang),
                "host": c.host or "",
            }
            for name, c in policy.cookies.items()
        ]
        widgets = [
            {"label": w.label.get(lang), "host": w.host, "recipient": policy.recipients[w.recipient].name}
            for w in policy.widgets.values()
            if w.recipient in policy.recipients
        ]
        retention = [
            {"label": r.label.get(lang), "legal_hold": r.legal_hold} for r in policy.retention.values()
        ]
        op = policy.operator
        return {
            "lang": lang,
            "operator": op,
            "operator_description": op.description.get(lang) if op.description else "",
            "categories": list(cat.values()),
            "purposes": purposes,
            "recipients": recipients,
            "cookies": cookies,
            "widgets": widgets,
            "retention": retention,
            "cookie_choice_months": op.cookie_choice_months,
            # Only what the installed apps implement (see registry.measure_register).
            "measures": [measure.get(lang) for measure in measure_list()],
        }


def notice_html(policy: Policy, lang: str, *, version: Any = None) -> str:
    """Render the notice's body as an HTML fragment."""
    with translation.override(lang):
        return render_to_string(
            "policy/notice_body.html", {**notice_context(policy, lang), "version": version}
        )


def notice_markdown(policy: Policy, lang: str, *, version: Any = None) -> str:
    """Render the notice as Markdown."""
    with translation.override(lang):
        return render_to_string("policy/notice.md", {**notice_context(policy, lang), "version": version})


def terms_context(terms: Terms, lang: str) -> dict[str, Any]:
    """Return the terms of use's texts in ``lang`` (``fr`` or ``en``)."""
    return {
        "lang": lang,
        "title": terms.title.get(lang),
        "introduction": terms.introduction.get(lang) if terms.introduction else "",
        "sections": [
            {"title": section.title.get(lang), "paragraphs": [p.get(lang) for p in section.paragraphs]}
            for section in terms.sections
        ],
    }


def register_rows(policy: Policy) -> list[dict[str, Any]]:
    """Return the GDPR Art. 30 record of processing: one row per purpose (English labels).

    The security measures are those the installed apps registered (``measure_register``): the register
    claims only what the running code implements.
    """
    op = policy.operator
    measures = [measure.en for measure in measure_list()]
    rows = []
    for pid, purpose in policy.purposes.items():
        recipients = [(rid, r) for rid, r in policy.recipients.items() if pid in r.purposes]
        retention = policy.retention.get(purpose.retention)
        rows.append(
            {
                "controller": op.legal_name,
                "controller_contact": op.privacy_contact,
                "purpose_id": pid,
                "purpose": purpose.label.en,
                "description": purpose.description.en,
                "legal_basis": purpose.legal_basis,
                "consent_required": purpose.consent_required,
                "data_subjects": purpose.subjects.en if purpose.subjects else "customers and prospects",
                "data_categories": list(purpose.categories),
                "recipients": [
                    f"{r.name} ({r.kind}, {r.country}{'; hosts: ' + ', '.join(r.hosts) if r.hosts else ''})"
                    for _rid, r in recipients
                ],
                "transfers_outside_eu": [
                    f"{r.name} ({r.country})" for _rid, r in recipients if r.country not in EU_EEA
                ],
                "retention": f"{retention.label.en} [{retention.anchor} + {retention.duration}]"
                if retention
                else "",
                "security_measures": measures,
            }
        )
    return rows


def register_json(policy: Policy) -> str:
    return json.dumps(
        {"controller": policy.operator.legal_name, "processing": register_rows(policy)},
        indent=2,
        ensure_ascii=False,
    )


def register_csv(policy: Policy) -> str:
    rows = register_rows(policy)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["controller"], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "; ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    return out.getvalue()


# The notice of one version in one language never changes: render it once per process.
notice_cache: dict[tuple[str, str], str] = {}


def notice_html_cached(policy: Policy, version: Any, lang: str) -> str:
    """Return ``notice_html`` of ``version`` in ``lang``, rendered once per process."""
    key = (version.sha256, lang)
    body = notice_cache.get(key)
    if body is None:
        body = notice_cache[key] = notice_html(policy, lang, version=version)
    return body
