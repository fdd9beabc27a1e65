"""``{% pacte_widget "id" %}``: a third-party widget behind a two-click placeholder.

Nothing is requested from the widget's host until this browser has agreed to the widget's purpose; the
page's Content-Security-Policy opens to that host only on the pages where the widget really renders.
Each widget loads its own embed, built from the parameters the policy declares for it.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from pacte.consent import banner
from pacte.consent.widgets import embed_for
from pacte.core.i18n import current_language
from pacte.policy.selectors import policy_active

register = template.Library()


@register.simple_tag(takes_context=True)
def pacte_widget(context: dict[str, Any], widget_id: str) -> SafeString:
    request = context["request"]
    policy = policy_active()
    widget = policy.widgets.get(widget_id)
    if widget is None:
        return SafeString("")
    lang = current_language()
    purpose = policy.purposes[widget.purpose]
    recipient = policy.recipients.get(widget.recipient)
    # What the host would receive, in the policy's own words: its recipient's data categories.
    receives = [
        policy.categories[cid].label.get(lang)
        for cid in (recipient.categories if recipient else [])
        if cid in policy.categories
    ]
    agreed = banner.state_read(request).granted(widget.purpose)
    embed = embed_for(widget, page=request.build_absolute_uri(), lang=lang) if agreed else None
    if embed is not None:
        extra = getattr(request, "pacte_csp_extra", {})
        extra.setdefault(embed.directive, set()).add(embed.origin)
        request.pacte_csp_extra = extra
    return SafeString(
        render_to_string(
            "consent/widget.html",
            {
                "id": widget_id,
                "widget": widget,
                "label": widget.label.get(lang),
                "recipient": recipient.name if recipient else widget.recipient,
                "receives": receives,
                "purpose_id": widget.purpose,
                "purpose": purpose.label.get(lang),
                "agreed": agreed,
                "embed": embed,
                "next": request.get_full_path(),
            },
            request=request,
        )
    )


@register.simple_tag
def pacte_widget_ids() -> list[str]:
    return list(policy_active().widgets)
