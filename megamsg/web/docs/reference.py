"""GET /docs/reference: every /api/ endpoint, rendered from /api/openapi.json by a vendored viewer."""

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

bp = Blueprint("reference", __name__)


@bp.get("/docs/reference")
def reference() -> ResponseReturnValue:
    """The interactive API reference."""
    return render_template("reference.html")
