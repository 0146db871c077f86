"""Destructive actions ask first: a GET page says what will happen; only its form confirms."""

from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response


def ask(title: str, explanation: str, button: str, cancel_url: str) -> str:
    """The confirmation page; its form posts back to the same URL with confirmed=yes."""
    return render_template(
        "confirm.html", title=title, explanation=explanation, button=button, cancel=cancel_url
    )


def confirmed() -> bool:
    """True if the POST came from the confirmation page's form."""
    return request.form.get("confirmed") == "yes"


def ask_first(endpoint: str, **values: Any) -> Response:
    """Send an unconfirmed POST (a stale one-click form) to the confirmation page instead of acting."""
    return redirect(url_for(endpoint, **values), 303)
