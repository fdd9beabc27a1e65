"""WSGI entry point for gunicorn (`pacte serve` starts it)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacte.settings")
application = get_wsgi_application()

# Everything loaded so far lives as long as the process: move it out of the garbage collector's reach,
# so that a full collection does not walk it again (shorter pauses, steadier tail latency).
import gc  # noqa: E402

gc.freeze()
