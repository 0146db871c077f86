"""CSRF protection for every dashboard form (Flask-WTF)."""

from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
