"""Set up Django for an in-process benchmark: a temporary PACTE_HOME, every database migrated."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def setup(settings_module: str = "tests.settings") -> Path:
    """Configure Django on fresh SQLite files (or the PostgreSQL that DATABASE_URL names); return the home."""
    home = Path(tempfile.mkdtemp(prefix="pacte-bench-"))
    os.environ["PACTE_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    for alias in settings.DATABASES:
        call_command("migrate", database=alias, verbosity=0)
    return home
