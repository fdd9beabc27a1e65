"""Settings of the Pacte processes that crash tests start: Pacte's own plus the crash hook.

Production settings have no hook at all; only processes started with this module can be told (through
PACTE_CRASH_AFTER) to kill themselves right after a named step commits.
"""

from pacte.settings import *  # noqa: F403

PACTE_STEP_HOOK = "tests.hooks.crash_after"
