"""JSON errors under /api/ in the contract's shape; HTML elsewhere."""

import logging

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

MESSAGES = {
    400: "Malformed request.",
    401: "Unauthorized.",
    404: "Not found.",
    405: "Method not allowed.",
    409: "Conflict.",
    413: "Request body too large.",
    415: "Content-Type must be application/json.",
    422: "Invalid request.",
    429: "Too many requests.",
    500: "Internal server error.",
    502: "WhatsApp session did not answer.",
    503: "Service unavailable.",
}


class ApiError(Exception):
    """An error answered as {"ok": false, "message": …} with the given status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


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
        if status == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return error_response(status, message, headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json():
            return Response("Internal server error.", status=500, mimetype="text/plain")
        return error_response(500, MESSAGES[500])
