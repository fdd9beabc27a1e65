"""Hooks that tests plug into Pacte processes through settings (tests/process_settings.py)."""

from __future__ import annotations

import os
import signal


def crash_after(step: str) -> None:
    """Kill this process at once (SIGKILL, no clean-up) after ``step`` when PACTE_CRASH_AFTER names it."""
    if os.environ.get("PACTE_CRASH_AFTER") == step:
        os.kill(os.getpid(), signal.SIGKILL)
