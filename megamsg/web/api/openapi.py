"""The OpenAPI 3.1 description of every /api/ endpoint, served at GET /api/openapi.json."""

# Request schemas come from request_schemas: the very objects the endpoints validate with.

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from megamsg.config import DEFAULTS
from megamsg.web.api import (
    chat_schemas,
    feature_schemas,
    openapi_account,
    recovery_schemas,
    request_schemas,
    response_schemas,
)
from megamsg.web.api.openapi_feature_paths import feature_paths
from megamsg.web.api.openapi_operations import SIMULATOR_NOTE
from megamsg.web.api.openapi_paths import paths
from megamsg.web.api.openapi_recovery_paths import recovery_paths
from megamsg.web.api.response_schemas import OPENAPI_VERSION
from megamsg.web.api.schema_parts import string

bp = Blueprint("openapi", __name__)


def openapi_document(config: Mapping[str, Any]) -> dict:
    """The OpenAPI 3.1 document for this server's API."""
    rate = config.get("RATE_LIMIT_PER_MINUTE", DEFAULTS["RATE_LIMIT_PER_MINUTE"])
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "MegaMsg API",
            "version": "1",
            "description": (
                "Self-hosted WhatsApp gateway. Every /api/whatsapp/* and /api/simulator/* request carries "
                "`Authorization: Bearer <token>` and `X-Instance-Id: <instance id>`. Every error is JSON "
                '`{"ok": false, "message": "…"}`. '
                + (f"Sends are limited to {rate} per minute per instance." if int(rate) > 0 else "")
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "messages"},
            {
                "name": "contacts",
                "description": "Extensions: which numbers have WhatsApp, and the groups the linked number is in.",
            },
            {"name": "instance"},
            {"name": "simulator", "description": SIMULATOR_NOTE},
            {"name": "meta"},
            {"name": openapi_account.TAG, "description": openapi_account.TAG_DESCRIPTION},
        ],
        "paths": {**paths(config), **feature_paths(), **openapi_account.paths(), **recovery_paths()},
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The instance's 64-character API token.",
                },
                openapi_account.SCHEME: openapi_account.SECURITY_SCHEME,
            },
            "parameters": {
                "InstanceId": {
                    "name": "X-Instance-Id",
                    "in": "header",
                    "required": True,
                    "description": "The instance the token belongs to.",
                    "schema": string(minLength=1),
                },
                "IdempotencyKey": request_schemas.header_parameter(
                    request_schemas.SEND_HEADERS, "Idempotency-Key"
                ),
            },
            "schemas": {
                **response_schemas.components(),
                **request_schemas.components(),
                **openapi_account.schemas(),
                **feature_schemas.response_components(),
                **feature_schemas.request_components(),
                **chat_schemas.response_components(),
                **chat_schemas.request_components(),
                **recovery_schemas.response_components(),
                **recovery_schemas.request_components(),
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """Serve the document (no authentication: it holds no secrets)."""
    return jsonify(openapi_document(current_app.config))
