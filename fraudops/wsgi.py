"""WSGI entry point: the recommended production server for the REST API (gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fraudops.settings")

from fraudops.chunked import chunked_body_middleware

application = chunked_body_middleware(get_wsgi_application())
