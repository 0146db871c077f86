"""POST /api/whatsapp/instance/webhook/redeliver: send a range of finished events again, in order."""

import math
from datetime import UTC, datetime

from flask import Blueprint, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from megamsg.delivery.webhooks import RedeliveryRefused, redeliver_range
from megamsg.errors import ApiError
from megamsg.web.api.auth import require_instance
from megamsg.web.api.recovery_schemas import MAX_REDELIVER, MAX_UNIX_SECONDS, REDELIVER
from megamsg.web.api.send_time import parse_send_at
from megamsg.web.db import get_db
from megamsg.web.validation import json_object

bp = Blueprint("webhook_redeliver", __name__, url_prefix="/whatsapp/instance")


def stored_time(field: str, value: str | float) -> str:
    """The time as webhook events store theirs (ISO, UTC, whole seconds), or a 422 naming the field."""
    if isinstance(value, bool):
        raise ApiError(422, f"{field} must be an ISO 8601 time with a UTC offset or Unix seconds.")
    if isinstance(value, int | float):
        if not (math.isfinite(value) and 0 <= value <= MAX_UNIX_SECONDS):
            raise ApiError(422, f"{field} must be Unix seconds between 0 and {MAX_UNIX_SECONDS}.")
        when = datetime.fromtimestamp(int(value), UTC)
    else:
        try:
            when = parse_send_at(value).astimezone(UTC)
        except ValueError as exc:
            raise ApiError(422, f"{field} {exc}") from None
    return when.replace(microsecond=0).isoformat(timespec="seconds")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@bp.post("/webhook/redeliver")
@require_instance
def redeliver() -> ResponseReturnValue:
    """Start a fresh round of up to 3 attempts for each event of the range, oldest (lowest sequence) first."""
    body = REDELIVER.check(json_object())
    since = stored_time("since", body["since"])
    until = _now() if body.get("until") is None else stored_time("until", body["until"])
    try:
        event_ids, remaining = redeliver_range(
            get_db(),
            current_app.config,
            g.instance,
            body.get("status") or "failed",
            since,
            until,
            int(body.get("limit") or MAX_REDELIVER),
        )
    except RedeliveryRefused as exc:
        raise ApiError(409, str(exc)) from None
    return jsonify({"ok": True, "count": len(event_ids), "event_ids": event_ids, "remaining": remaining})
