"""System checks of the base (pacte.W001): the files Pacte keeps are readable by its own user only."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from django.core.checks import Tags, Warning, register

from pacte.core import app_settings


def too_open(home: Path) -> list[Path]:
    """Return PACTE_HOME and every file or folder under it that its group or other users may access."""
    found = []
    for path in [home, *home.rglob("*")]:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            continue  # a -wal file checkpointed away while we looked
        if stat.S_ISLNK(mode):
            continue
        if mode & 0o077:
            found.append(path)
    return found


@register(Tags.security, deploy=False)
def home_permissions(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """Warn when PACTE_HOME or a file in it (databases, keys, mail spool, exports) is open to others."""
    home = app_settings.home()
    if not home.exists():
        return []
    paths = too_open(home)
    if not paths:
        return []
    shown = ", ".join(
        f"{p.relative_to(home) if p != home else p} ({oct(p.lstat().st_mode & 0o777)})" for p in paths[:5]
    )
    more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
    return [
        Warning(
            f"Other users of this machine may read Pacte's files: {shown}{more}.",
            hint=f"Run `chmod -R go-rwx {home}`. Pacte itself creates folders 0700 and files 0600 whatever "
            "the umask; these were made by something else (a copy, a restore, a different tool).",
            id="pacte.W001",
        )
    ]
