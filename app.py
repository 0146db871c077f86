"""WSGI entry point: `gunicorn app:app`."""

from megamsg import create_app

app = create_app()
