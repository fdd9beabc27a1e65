"""Settings of the servers the benchmarks start: Pacte's own, plus the bare baseline views.

The baseline views exist only here, never in a production URL map (bench/_server_urls.py).
"""

from pacte.settings import *  # noqa: F403

ROOT_URLCONF = "_server_urls"
