"""Error handlers: JSON errors under /api/ in the contract's shape; HTML elsewhere."""

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from megamsg.errors import MESSAGES, ApiError

log = logging.getLogger(__name__)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Build a contract-shaped JSON error."""
    response = jsonify({"ok": False, "message": message})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> Response:
        return error_response(error.status, error.message, error.headers)

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> HTTPException | Response:
        if not _wants_json():
            return error
        status = error.code or 500
        message = MESSAGES.get(status, error.name + ".")
        if status == 400 and error.description and "JSON" in str(error.description):
            message = "Malformed JSON body."
        headers = {}
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return error_response(status, message, headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json():
            return Response("Internal server error.", status=500, mimetype="text/plain")
        return error_response(500, MESSAGES[500])
