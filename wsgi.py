"""The WSGI entry point: `gunicorn wsgi:app`."""

from gapwatch import create_app

app = create_app()
