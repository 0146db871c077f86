"""GET /metrics: Prometheus text format, only with MEGAMSG_METRICS_TOKEN (Bearer); 404 while it is unset."""

import hmac

from flask import Blueprint, Response, abort, current_app, request
from flask.typing import ResponseReturnValue

from megamsg import metrics
from megamsg.web.metrics_scrape import render

bp = Blueprint("metrics", __name__)
UNAUTHORIZED = "Unauthorized: send Authorization: Bearer <MEGAMSG_METRICS_TOKEN>.\n"


@bp.get("/metrics")
def prometheus_metrics() -> ResponseReturnValue:
    """Every metric of web and worker processes, plus queue depths and instances by status."""
    config = current_app.config
    if not metrics.enabled(config):
        abort(404)  # the same answer as any unknown URL: nothing to find while metrics are off
    expected = f"Bearer {config['METRICS_TOKEN']}".encode()
    given = request.headers.get("Authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        return Response(
            UNAUTHORIZED,
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
            mimetype="text/plain",
        )
    body, content_type = render(dict(config))
    return Response(body, 200, {"Cache-Control": "no-store"}, content_type=content_type)
