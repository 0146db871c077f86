"""Asking the instance's session for something other than a send (number checks, groups, …)."""

from typing import Any

from flask import current_app, g

from megamsg.errors import ApiError
from megamsg.session_state import public_status, read_state
from megamsg.web.session_control import call_runner


def run_feature(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The runner's answer to action; 502 when the session is not connected or WhatsApp refused."""
    config = current_app.config
    status = public_status(read_state(config, g.instance["id"]))
    if status != "connected":
        raise ApiError(502, f"WhatsApp session is not connected (status: {status}).")
    answer = call_runner(config, g.instance["id"], action, params)
    if not answer.get("ok"):
        raise ApiError(502, answer.get("error") or "The WhatsApp session could not answer.")
    return answer
