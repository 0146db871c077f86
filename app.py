"""WSGI entry point: `gunicorn app:app`."""

from megamsg.web import create_app

app = create_app()
