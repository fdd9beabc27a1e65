"""Settings for the test suite: Pacte's settings plus a small app of test-only models."""

from pacte.settings import *  # noqa: F403
from pacte.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]

# Tasks run at once in tests (mail reaches the test SMTP server before the request returns); the
# worker's database backend is exercised by the tests that say so.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

# A response that sets a cookie the policy does not declare fails the test (consent/middleware.py).
PACTE_STRICT_COOKIES = True

# The webhook tests post to receivers on 127.0.0.1 over plain HTTP (sharing.http); the tests of the
# refusals switch these off again.
PACTE_SHARING_ALLOW_INSECURE = True
PACTE_SHARING_ALLOW_PRIVATE_NETWORKS = True

# Visits are counted only in the tests that turn it on (telemetry/tests): elsewhere a page view would write
# to the telemetry and key databases those tests do not open. No background flush thread in tests.
PACTE_TELEMETRY = False
PACTE_TELEMETRY_FLUSH_THREAD = False
