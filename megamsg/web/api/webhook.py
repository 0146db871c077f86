"""Webhook settings by API: GET/PUT /api/whatsapp/instance/webhook."""

from flask import Blueprint, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from megamsg.delivery.webhook_config import (
    WebhookConfigError,
    check_destination,
    set_webhook,
    webhook_settings,
)
from megamsg.errors import ApiError
from megamsg.web.api.auth import require_instance
from megamsg.web.api.request_schemas import WEBHOOK
from megamsg.web.db import get_db
from megamsg.web.validation import json_object

bp = Blueprint("webhook", __name__, url_prefix="/whatsapp/instance")


@bp.get("/webhook")
@require_instance
def get_webhook() -> ResponseReturnValue:
    """The instance's webhook URL, signing secret and event kinds."""
    return jsonify({"ok": True, **webhook_settings(g.instance)})


@bp.put("/webhook")
@require_instance
def put_webhook() -> ResponseReturnValue:
    """Set ({"url": "https://…"}) or clear ({"url": null}) the webhook, optionally its event kinds."""
    body = WEBHOOK.check(json_object())
    try:
        warning = check_destination(body["url"], bool(current_app.config["ALLOW_PRIVATE_URLS"]))
        settings = set_webhook(get_db(), g.instance["id"], body["url"], body.get("events"))
    except WebhookConfigError as exc:
        raise ApiError(422, str(exc)) from None
    return jsonify({"ok": True, **settings, **({"warning": warning} if warning else {})})
