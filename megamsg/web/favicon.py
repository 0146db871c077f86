"""/favicon.ico: browsers ask for it by default; it answers with the SVG icon that base.html links."""

from flask import Blueprint, current_app, send_from_directory
from flask.typing import ResponseReturnValue

bp = Blueprint("favicon", __name__)


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """The icon itself (no redirect: one request, cached for a day)."""
    static = current_app.static_folder or "static"
    return send_from_directory(static, "favicon.svg", mimetype="image/svg+xml", max_age=86400)
