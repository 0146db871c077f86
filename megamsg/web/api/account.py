"""The provisioning API: an account API key creates, lists, rotates and deletes its user's instances."""

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from megamsg.delivery.webhook_config import WebhookConfigError, check_destination, validate_url
from megamsg.errors import ApiError
from megamsg.instance_registry import register
from megamsg.session_state import mark_deleted, public_status, read_state
from megamsg.store import instances
from megamsg.store.api_keys import READ, WRITE
from megamsg.store.instance_pages import instance_page
from megamsg.web.api.account_auth import audit, key_user, note_instance, require_key
from megamsg.web.api.request_schemas import ACCOUNT_LIST_QUERY, CREATE_INSTANCE
from megamsg.web.db import get_db
from megamsg.web.validation import json_object

bp = Blueprint("account_api", __name__, url_prefix="/account")
bp.after_request(audit)
NOT_FOUND = "No instance with that id."


def _summary(instance: dict) -> dict:
    state = read_state(current_app.config, instance["id"])
    return {
        "instance_id": instance["id"],
        "name": instance["name"],
        "status": public_status(state),
        "phone_number": state.get("phone_number") or None,
        "push_name": state.get("push_name") or None,
        "webhook_url": instance["webhook_url"],
        "created_at": instance["created_at"],
    }


def _visible(instance_id: str) -> dict:
    """The instance if the key's user may see it; 404 otherwise (never 403: ids do not leak)."""
    instance = instances.visible_instance(get_db(), key_user(), instance_id)
    if instance is None:
        raise ApiError(404, NOT_FOUND)
    note_instance(instance)
    return instance


def _no_store(body: dict, status: int = 200) -> ResponseReturnValue:
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"  # it holds a token
    return response


@bp.post("/instances")
@require_key(WRITE, "instance.create")
def create() -> ResponseReturnValue:
    """Create an instance for the key's user; its token is in this answer only."""
    body = CREATE_INSTANCE.check(json_object())
    url = body.get("webhook_url")
    try:
        warning = check_destination(url, bool(current_app.config["ALLOW_PRIVATE_URLS"]))
        clean = None if url is None else validate_url(url)
    except WebhookConfigError as exc:
        raise ApiError(422, "webhook_" + str(exc)) from None
    row, token = instances.create_instance(get_db(), key_user()["id"], body["name"], clean)
    register(current_app.config, row["id"])
    note_instance(row)
    answer = {"ok": True, **_summary(row), "token": token}
    return _no_store({**answer, **({"warning": warning} if warning else {})}, 201)


@bp.get("/instances")
@require_key(READ, "instance.list")
def list_instances() -> ResponseReturnValue:
    """The user's instances (an admin's key: all), newest first, a page at a time."""
    query = ACCOUNT_LIST_QUERY.check_query(request.args)
    rows, next_before = instance_page(get_db(), key_user(), query["limit"], query["before"])
    return jsonify({"ok": True, "instances": [_summary(row) for row in rows], "next_before": next_before})


@bp.get("/instances/<instance_id>")
@require_key(READ, "instance.get")
def get_one(instance_id: str) -> ResponseReturnValue:
    """One instance and its live status."""
    return jsonify({"ok": True, **_summary(_visible(instance_id))})


@bp.post("/instances/<instance_id>/rotate-token")
@require_key(WRITE, "instance.rotate_token")
def rotate_token(instance_id: str) -> ResponseReturnValue:
    """A new token for the instance; the old one stops working at once."""
    instance = _visible(instance_id)
    token = instances.rotate_token(get_db(), instance["id"])
    return _no_store({"ok": True, "instance_id": instance["id"], "token": token})


@bp.delete("/instances/<instance_id>")
@require_key(WRITE, "instance.delete")
def delete(instance_id: str) -> ResponseReturnValue:
    """Delete the instance as the dashboard does: its WhatsApp session is logged out and its data removed."""
    instance = _visible(instance_id)
    # Tell the runner first, so that it forgets the WhatsApp session when it is stopped.
    mark_deleted(current_app.config, instance["id"])
    instances.delete_instance(get_db(), instance["id"])
    return jsonify({"ok": True, "instance_id": instance["id"]})
