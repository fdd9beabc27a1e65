"""How each widget of the policy is embedded once agreed to: its own URL, built from its own parameters.

The policy declares each widget's ``embed`` (``facebook_like``, ``facebook_share``, ``tidio_chat``) and
that embed's parameters; nothing here invents a host or a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from pacte.policy.schema import Widget

# Facebook's plugins speak the page's language when told its locale.
FACEBOOK_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


@dataclass(frozen=True)
class Embed:
    """What the page loads for one widget after consent, and the CSP directive that must allow it."""

    element: str  # "iframe" or "script"
    src: str
    directive: str  # "frame-src" or "script-src"
    origin: str  # the only origin the page's CSP opens for it
    width: int = 0
    height: int = 0


def embed_for(widget: Widget, *, page: str, lang: str) -> Embed:
    """Return the embed of ``widget`` on the page at the absolute address ``page``."""
    origin = f"https://{widget.host}"
    locale = FACEBOOK_LOCALES.get(lang, "en_GB")
    if widget.embed == "facebook_like":
        query = urlencode(
            {
                "href": widget.href or page,
                "layout": widget.layout or "button_count",
                "action": "like",
                "size": "small",
                "share": "false",
                "locale": locale,
            }
        )
        return Embed("iframe", f"{origin}/plugins/like.php?{query}", "frame-src", origin, 150, 28)
    if widget.embed == "facebook_share":
        query = urlencode(
            {
                "href": widget.href or page,
                "layout": widget.layout or "button_count",
                "size": "small",
                "locale": locale,
            }
        )
        return Embed("iframe", f"{origin}/plugins/share_button.php?{query}", "frame-src", origin, 110, 28)
    if widget.embed == "tidio_chat":
        # Tidio's snippet is //code.tidio.co/<public key>.js; always over HTTPS here.
        return Embed("script", f"{origin}/{widget.public_key}.js", "script-src", origin)
    raise ValueError(f"no embed for {widget.embed!r}")  # the policy schema allows no other value
