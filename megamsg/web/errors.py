"""Error handlers: JSON errors under /api/ in the contract's shape; HTML pages elsewhere."""

import logging

import redis
from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from megamsg.errors import MESSAGES, ApiError

log = logging.getLogger(__name__)
REDIS_RETRY_AFTER_SECONDS = 5

# What the error pages say; other statuses show Werkzeug's own description of the error.
PAGES = {
    404: (
        "Page not found",
        "There is nothing at this address. It may have been deleted, or the link is mistyped.",
    ),
    405: (
        "Not allowed",
        "This page does not accept that kind of request. Go back and use its buttons and forms.",
    ),
    503: (
        "Back in a moment",
        "MegaMsg's queue (Redis) is not answering; it is being brought back. Try again in a few seconds.",
    ),
    500: (
        "Something went wrong",
        "MegaMsg could not show this page because of an error on the server. It has been logged; "
        "try again, and if it keeps happening, the web process log says more.",
    ),
}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Build a contract-shaped JSON error."""
    response = jsonify({"ok": False, "message": message})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def error_page(
    status: int, name: str = "Error", description: str = "", headers: dict[str, str] | None = None
) -> Response:
    """The styled HTML page of an error status, with a way back (never a traceback)."""
    heading, explanation = PAGES.get(status, (name, description))
    try:
        html = render_template("error.html", status=status, heading=heading, explanation=explanation)
    except Exception:
        # The page itself failed (e.g. the database is gone): a plain answer still says what happened.
        log.exception("could not render the %s page", status)
        html = f"{status} {heading}. {explanation}"
        return Response(html, status=status, headers=headers, mimetype="text/plain")
    return Response(html, status=status, headers=headers, mimetype="text/html")


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        return error_response(error.status, error.message, error.headers)

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> HTTPException | Response:
        status = error.code or 500
        headers = {}
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        if not _wants_json():
            if status < 400 or error.response is not None:  # routing redirects, ready-made answers
                return error
            return error_page(status, error.name, error.description or "", headers)
        message = MESSAGES.get(status, error.name + ".")
        if status == 400 and error.description and "JSON" in str(error.description):
            message = "Malformed JSON body."
        return error_response(status, message, headers)

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    def handle_redis_away(error: redis.RedisError) -> Response:
        # Not a bug of ours and nothing was done: say so, and when to come back, instead of a 500.
        log.warning("Redis unavailable on %s %s: %s", request.method, request.path, error)
        headers = {"Retry-After": str(REDIS_RETRY_AFTER_SECONDS)}
        if not _wants_json():
            return error_page(503, headers=headers)
        return error_response(503, PAGES[503][1], headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json():
            return error_page(500)
        return error_response(500, MESSAGES[500])
