"""The embedded default's mail spool (files under ``$PACTE_HOME/sent-mail``): kept briefly, never beyond erasure.

With no mail relay configured, Pacte "sends" by writing each message to a file (Django's file backend),
so an operator trying Pacte can read the mails it sends. Those files hold addresses and links (sign-in,
reset), so they are deleted after ``PACTE_MAIL_SPOOL_HOURS`` (24 by default) and, at once, when the
person they were sent to is erased. With a real relay there is no spool and these do nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from pacte.messaging import app_settings


def spool_dir() -> Path | None:
    """Return the spool folder when mail goes to files, else None."""
    if not settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        return None
    return Path(settings.EMAIL_FILE_PATH)


def spool_purge(*, older_than_hours: float | None = None, addresses: Iterable[str] = ()) -> int:
    """Delete spooled mails older than ``older_than_hours`` or sent to any of ``addresses``; return how many."""
    folder = spool_dir()
    if folder is None or not folder.is_dir():
        return 0
    hours = app_settings.mail_spool_hours() if older_than_hours is None else older_than_hours
    cutoff = time.time() - hours * 3600
    needles = [address.strip().lower().encode() for address in addresses if address and address.strip()]
    removed = 0
    for file in folder.iterdir():
        if not file.is_file():
            continue
        try:
            old = file.stat().st_mtime < cutoff
            hit = bool(needles) and any(needle in file.read_bytes().lower() for needle in needles)
        except FileNotFoundError:
            continue  # removed by a concurrent purge
        if old or hit:
            file.unlink(missing_ok=True)
            removed += 1
    return removed
