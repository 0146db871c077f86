"""POST /api/whatsapp/messages/send and the message log."""

import dataclasses
from dataclasses import dataclass

import sqlite_utils
from flask import Blueprint, current_app, g, jsonify, request, send_file
from flask.typing import ResponseReturnValue

from megamsg.errors import ApiError
from megamsg.media import MediaError, load_media
from megamsg.session_state import public_status, read_state
from megamsg.store import idempotency, message_log
from megamsg.store.message_details import public_details
from megamsg.web.api.auth import require_instance
from megamsg.web.api.message_refs import send_details
from megamsg.web.api.rate_limit import check_rate
from megamsg.web.api.request_schemas import LIST_QUERY, SEND_HEADERS
from megamsg.web.api.send_request import SendRequest, validate_send
from megamsg.web.api.send_time import check_send_at
from megamsg.web.api.sending import enqueue_send, wait_for_send
from megamsg.web.db import get_db
from megamsg.web.download_name import download_name
from megamsg.web.validation import json_object

bp = Blueprint("messages", __name__, url_prefix="/whatsapp")


@dataclass
class _Claim:
    """This request's hold on its Idempotency-Key, and the message it queued (if it got that far)."""

    db: sqlite_utils.Database
    instance_id: str
    key: str
    token: str
    message_id: str | None = None

    def attach(self, row: dict) -> None:
        """Called before the job is queued: from here on a retry must never send again."""
        idempotency.attach_message(self.db, self.instance_id, self.key, self.token, row["id"])
        self.message_id = row["id"]


@bp.post("/messages/send")
@require_instance
def send() -> ResponseReturnValue:
    """Send a text or media message through the instance's WhatsApp session."""
    config = current_app.config
    instance = g.instance
    check_rate(config, instance["id"])
    body = json_object()
    send_request = validate_send(body)
    db = get_db()
    key = SEND_HEADERS.check_headers(request.headers).get("Idempotency-Key")
    claim = None
    if key is not None:
        outcome = idempotency.begin(
            db,
            instance["id"],
            key,
            idempotency.request_fingerprint(body),
            wait_seconds=float(config["SEND_TIMEOUT"]) + 30,
            stale_after=float(config["SEND_TIMEOUT"]) + 60,
        )
        if isinstance(outcome, idempotency.Replay):
            response = jsonify(outcome.body)
            response.status_code = outcome.status
            response.headers["Idempotent-Replayed"] = "true"
            return response
        claim = _Claim(db, instance["id"], key, outcome)
    try:
        status, answer, message_id = _send(config, db, instance, send_request, claim)
    except Exception:
        # Only free the key if nothing was queued; otherwise a retry could send twice.
        if claim is not None and claim.message_id is None:
            idempotency.abandon(db, instance["id"], claim.key, claim.token)
        raise
    if claim is not None:
        idempotency.finish(db, instance["id"], claim.key, claim.token, status, answer, message_id)
    response = jsonify(answer)
    response.status_code = status
    return response


def _send(
    config: dict, db: sqlite_utils.Database, instance: dict, send_request: SendRequest, claim: _Claim | None
) -> tuple[int, dict, str | None]:
    """(status, body, message id) for a validated request."""
    send_at = None if send_request.send_at is None else check_send_at(send_request.send_at, config)
    details = send_details(db, instance["id"], send_request.type, send_request.to, send_request)
    send_request = dataclasses.replace(send_request, details=details)
    status = public_status(read_state(config, instance["id"]))
    if status != "connected" and send_at is None:
        raise ApiError(502, f"WhatsApp session is not connected (status: {status}).")
    media = None
    if send_request.media is not None:
        try:
            media = load_media(send_request.media, send_request.type, config)
        except MediaError as exc:
            raise ApiError(422, str(exc)) from None
    on_recorded = claim.attach if claim is not None else None
    row, job = enqueue_send(
        config, db, instance, send_request, media, on_recorded=on_recorded, send_at=send_at
    )
    answer = {"ok": True, "to": send_request.to, "type": send_request.type, "id": row["id"]}
    if send_request.ignored_fields:
        answer["ignored_fields"] = send_request.ignored_fields
    if send_at is not None:
        return 202, {**answer, "status": "scheduled", "send_at": row["send_at"]}, row["id"]
    if send_request.is_async:
        return 202, {**answer, "status": "queued"}, row["id"]
    sent, error_text = wait_for_send(config, db, instance, row, job)
    if not sent:
        return 502, {"ok": False, "message": error_text, "id": row["id"], "status": "failed"}, row["id"]
    return 200, {**answer, "status": "sent"}, row["id"]


def message_json(row: dict, with_history: bool = False) -> dict:
    """Public representation of a logged message."""
    out = {
        "id": row["id"],
        "wa_id": row["wa_id"],
        "direction": row["direction"],
        "to" if row["direction"] == "out" else "from": row["peer"],
        "type": row["type"],
        "text": row["text"] if row["type"] == "text" or row["direction"] == "in" else None,
        "caption": row["caption"],
        "mime_type": row["mime_type"],
        "file_name": row["file_name"],
        "status": row["status"],
        "error": row["error"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    if row["direction"] == "out":
        out["ptt"] = bool(row["ptt"])
        out["send_at"] = row["send_at"]
    else:
        out.update(push_name=row["push_name"], is_group=bool(row["is_group"]), chat=row["chat"])
        if row["media_path"]:
            out["media_url"] = f"/api/whatsapp/media/{row['id']}"
    out.update(public_details(row))
    if with_history:
        out["history"] = message_log.history(get_db(), row["id"])
    return out


@bp.get("/messages/<message_id>")
@require_instance
def get_message(message_id: str) -> ResponseReturnValue:
    """One message of this instance, with its status history."""
    row = message_log.get_message(get_db(), g.instance["id"], message_id)
    if row is None:
        raise ApiError(404, "No message with that id on this instance.")
    return jsonify({"ok": True, "message": message_json(row, with_history=True)})


@bp.get("/messages")
@require_instance
def list_messages() -> ResponseReturnValue:
    """Newest first; pass next_before as ?before= for the next page."""
    query = LIST_QUERY.check_query(request.args)
    limit, before, direction = query["limit"], query["before"], query["direction"]
    rows = message_log.list_messages(get_db(), g.instance["id"], limit, before, direction, query["status"])
    next_before = rows[-1]["seq"] if len(rows) == limit else None
    return jsonify({"ok": True, "messages": [message_json(row) for row in rows], "next_before": next_before})


@bp.get("/media/<message_id>")
@require_instance
def get_media(message_id: str) -> ResponseReturnValue:
    """Download an incoming message's media (this instance's credentials only)."""
    row = message_log.get_message(get_db(), g.instance["id"], message_id)
    if row is None or not row["media_path"]:
        raise ApiError(404, "No media for that message on this instance.")
    try:
        return send_file(
            row["media_path"],
            mimetype=row["mime_type"] or "application/octet-stream",
            as_attachment=True,
            download_name=download_name(row["file_name"], row["id"]),
        )
    except FileNotFoundError:
        raise ApiError(404, "That media is no longer kept (retention period passed).") from None
