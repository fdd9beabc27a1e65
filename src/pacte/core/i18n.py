"""The language of the current request, as Pacte's pages and mails use it."""

from __future__ import annotations

from django.utils.translation import get_language


def current_language(supported: tuple[str, ...] = ("fr", "en")) -> str:
    """Return the active language's code if Pacte speaks it, else the first of ``supported``.

    Always one of ``supported`` (never ``de`` or ``en-gb``): callers index labels and templates by it.
    """
    code = (get_language() or supported[0])[:2].lower()
    return code if code in supported else supported[0]
