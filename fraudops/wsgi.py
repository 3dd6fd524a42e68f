"""WSGI entry point: the recommended production server for the REST API (gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fraudops.settings")

application = get_wsgi_application()
