"""WSGI entry point for gunicorn (`pacte serve` starts it)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pacte.settings")
application = get_wsgi_application()
