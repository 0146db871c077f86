"""GET /sandbox: fill in your credentials and send a real request from the browser."""

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("sandbox", __name__)


@bp.get("/sandbox")
def sandbox() -> ResponseReturnValue:
    """The API sandbox."""
    return render_template("sandbox.html")
