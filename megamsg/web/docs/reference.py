"""GET /docs/reference: every /api/ endpoint, rendered from /api/openapi.json by a vendored viewer."""

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from megamsg.web.docs.csp import same_origin_only

bp = Blueprint("reference", __name__)
bp.after_request(same_origin_only)

# Under static/; static/vendor/README.md says where it comes from and how to update it.
SWAGGER_UI = "vendor/swagger-ui-dist-5.35.0"


@bp.get("/docs/reference")
def reference() -> ResponseReturnValue:
    """The interactive API reference."""
    return render_template("reference.html", swagger_ui=SWAGGER_UI)
