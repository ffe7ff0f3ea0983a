"""The WSGI entry point gunicorn loads: ``api.wsgi:app``."""

from api import create_app

app = create_app()
