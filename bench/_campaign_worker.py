"""One `db_worker` for bench_campaign.py: set Django up, say so in a file, then work until stopped."""

from __future__ import annotations

import sys
from pathlib import Path

import django
from django.core.management import call_command

if __name__ == "__main__":
    django.setup()
    Path(sys.argv[1]).touch()  # ready: the start-up (Django, apps) stays out of the measured time
    call_command("db_worker", startup_delay=False, reload=False, interval=0.02, verbosity=0)
