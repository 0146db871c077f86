"""JSON the webhook pages poll to update events in place until they are final (static/webhooks.js)."""

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from megamsg.store import webhook_events
from megamsg.web.dashboard.pages import login_required, own_instance_or_404
from megamsg.web.db import get_db

bp = Blueprint("webhooks_live", __name__, url_prefix="/instances/<instance_id>/webhooks")

MAX_IDS = 50  # more than a page of the deliveries list holds


def _event_json(event: dict) -> dict:
    """What a page shows of an event."""
    return {
        "id": event["id"],
        "status": event["status"],
        "final": event["status"] not in webhook_events.IN_PROGRESS,
        "attempts": event["attempts"],
        "last_status_code": event["last_status_code"],
        "last_error": event["last_error"],
        "updated_at": event["updated_at"],
    }


def _attempt_json(attempt: dict) -> dict:
    """One delivery attempt as the event page lists it."""
    keys = ("attempt", "at", "status_code", "duration_ms", "error", "response_excerpt")
    return {key: attempt[key] for key in keys}


def _no_store(payload: dict) -> ResponseReturnValue:
    return jsonify(payload), 200, {"Cache-Control": "no-store"}


@bp.get("/status")
@login_required
def events_status(instance_id: str) -> ResponseReturnValue:
    """The current state of the listed events (`?id=…&id=…`) of this instance."""
    own_instance_or_404(instance_id)
    wanted = request.args.getlist("id")[:MAX_IDS]
    events = webhook_events.events_by_id(get_db(), instance_id, wanted)
    return _no_store({"events": [_event_json(event) for event in events]})


@bp.get("/<event_id>/status")
@login_required
def event_status(instance_id: str, event_id: str) -> ResponseReturnValue:
    """One event's state and every attempt of it."""
    own_instance_or_404(instance_id)
    db = get_db()
    event = webhook_events.get_event(db, event_id, instance_id=instance_id)
    if event is None:
        abort(404)
    attempts = [_attempt_json(attempt) for attempt in webhook_events.list_attempts(db, event_id)]
    return _no_store({**_event_json(event), "attempts_list": attempts})
