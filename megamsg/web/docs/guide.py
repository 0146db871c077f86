"""GET /docs: the API guide, its tables and samples taken from the OpenAPI document."""

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("docs", __name__)


@bp.get("/docs")
def guide() -> ResponseReturnValue:
    """The API guide."""
    return render_template("docs.html")
