"""Settings for the test suite: Pacte's settings plus a small app of test-only models."""

from pacte.settings import *  # noqa: F403
from pacte.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
