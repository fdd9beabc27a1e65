"""``{% pacte_widget "id" %}``: a third-party widget behind a two-click placeholder.

Nothing is requested from the widget's host until this browser has agreed to the widget's purpose; the
page's Content-Security-Policy opens to that host only on the pages where the widget really renders.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import get_language

register = template.Library()

# How each kind of widget is embedded once agreed to: (CSP directive, URL template).
EMBEDS = {
    "social": ("frame-src", "https://{host}/plugins/like.php?href={page}"),
    "video": ("frame-src", "https://{host}/embed"),
    "map": ("frame-src", "https://{host}/embed"),
    "chat": ("script-src", "https://{host}/widget.js"),
}


@register.simple_tag(takes_context=True)
def pacte_widget(context: dict[str, Any], widget_id: str) -> SafeString:
    from pacte.consent import banner
    from pacte.policy.selectors import policy_active

    request = context["request"]
    widget = policy_active().widgets.get(widget_id)
    if widget is None:
        return SafeString("")
    lang = (get_language() or "fr")[:2]
    purpose = policy_active().purposes[widget.purpose]
    agreed = banner.state_read(request).granted(widget.purpose)
    directive, url = EMBEDS[widget.kind]
    src = url.format(host=widget.host, page=quote(request.build_absolute_uri(), safe=""))
    if agreed:
        extra = getattr(request, "pacte_csp_extra", {})
        extra.setdefault(directive, set()).add(f"https://{widget.host}")
        request.pacte_csp_extra = extra
    return SafeString(
        render_to_string(
            "consent/widget.html",
            {
                "id": widget_id,
                "widget": widget,
                "label": widget.label.get(lang),
                "purpose_id": widget.purpose,
                "purpose": purpose.label.get(lang),
                "agreed": agreed,
                "src": src,
                "directive": directive,
                "next": request.get_full_path(),
            },
            request=request,
        )
    )


@register.simple_tag
def pacte_widget_ids() -> list[str]:
    from pacte.policy.selectors import policy_active

    return list(policy_active().widgets)
