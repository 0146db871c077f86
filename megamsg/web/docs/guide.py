"""GET /docs: the API guide, its tables and samples taken from the OpenAPI document."""

import json
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from megamsg.web.api.openapi import openapi_document
from megamsg.web.docs.csp import same_origin_only
from megamsg.web.docs.guide_content import guide as guide_content
from megamsg.web.docs.guide_content import send_curl

bp = Blueprint("docs", __name__)
bp.after_request(same_origin_only)


def base_url() -> str:
    """This server's own address as the client reached it (no trailing slash)."""
    return request.url_root.rstrip("/")


@bp.get("/docs")
def guide() -> ResponseReturnValue:
    """The API guide."""
    config = current_app.config
    return render_template("docs.html", guide=guide_content(openapi_document(config), base_url(), config))


@bp.app_template_global("send_curl_example")
def send_curl_example(instance_id: str) -> str:
    """The curl send example with an instance's id filled in (for its dashboard page)."""
    config = current_app.config
    return send_curl(openapi_document(config), base_url(), config, instance_id)


@bp.app_template_filter("pretty_json")
def pretty_json(value: Any) -> str:
    """JSON indented for reading (HTML escaping is left to the template)."""
    return json.dumps(value, indent=2, ensure_ascii=False)
