"""GET /sandbox: fill in your credentials and send a real request from the browser."""

from flask import Blueprint, g, render_template, request
from flask.typing import ResponseReturnValue

from megamsg.store import instances
from megamsg.web.api.request_schemas import MEDIA_TYPES, TYPES
from megamsg.web.db import get_db
from megamsg.web.docs.csp import same_origin_only

bp = Blueprint("sandbox", __name__)
bp.after_request(same_origin_only)

MAX_ID_LENGTH = 100  # far longer than an instance id: anything longer is not one


@bp.get("/sandbox")
def sandbox() -> ResponseReturnValue:
    """The API sandbox; a logged-in user also gets their instances to pick the id from."""
    instance_id = request.args.get("instance_id", "").strip()[:MAX_ID_LENGTH]
    own = instances.list_instances(get_db(), g.user) if g.user else []
    return render_template(
        "sandbox.html",
        instance_id=instance_id,
        instances=[{"id": row["id"], "name": row["name"]} for row in own],
        types=TYPES,
        media_types=" ".join(MEDIA_TYPES),
    )
