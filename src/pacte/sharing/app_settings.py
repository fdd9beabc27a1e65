"""Sharing settings, read lazily (environment first, then Django settings).

What may be disclosed, to whom and why is the policy file's to say (``[recipients.*]``), read through
``pacte.policy.selectors``; the settings here only shape how disclosures are shown.
"""

from __future__ import annotations

import os

from django.conf import settings


def transparency_threshold() -> int:
    """Smallest count the transparency page shows as a number (PACTE_TRANSPARENCY_THRESHOLD, default 5).

    A smaller count is shown as "fewer than N", so that a count of one or two cannot point at a person.
    Never below 1.
    """
    value = os.environ.get("PACTE_TRANSPARENCY_THRESHOLD") or getattr(
        settings, "PACTE_TRANSPARENCY_THRESHOLD", None
    )
    return max(1, int(value)) if value else 5
