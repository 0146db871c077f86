"""An incoming message's details (reply, location, reaction, edit, deletion): stored, and shown on the webhook."""

import json
from typing import Any

import sqlite_utils

from megamsg.store import message_log
from megamsg.store.message_details import PUBLIC_KEYS


def incoming_details(db: sqlite_utils.Database, instance_id: str, event: dict[str, Any]) -> str | None:
    """The event's details as the log stores them (JSON), with MegaMsg's id of each message referred to."""
    details: dict[str, Any] = {}
    for name in PUBLIC_KEYS:
        part = event.get(name)
        if not part:
            continue
        part = dict(part)
        if part.get("id"):
            referred = message_log.get_message(db, instance_id, part["id"])
            part["message_id"] = referred["id"] if referred else None
        details[name] = part
    return json.dumps(details) if details else None
