"""Sends that refer to another message of the log (reply_to, a reaction's message_id): looked up, or 422."""

from typing import Any

import sqlite_utils

from megamsg.errors import ApiError
from megamsg.store import message_log

MAX_QUOTED_TEXT = 1024  # of the quoted message's text, carried for the quote's preview


def _referenced(db: sqlite_utils.Database, instance_id: str, message_id: str, name: str) -> dict:
    """The logged message that name refers to; 422 naming the field when there is none to refer to."""
    row = message_log.get_message(db, instance_id, message_id)
    if row is None:
        raise ApiError(422, f"{name} names no message of this instance: give MegaMsg's or WhatsApp's id.")
    if not row["wa_id"]:
        raise ApiError(
            422, f"{name} names a message that has not reached WhatsApp (status: {row['status']})."
        )
    return row


def message_key(row: dict) -> dict[str, Any]:
    """What WhatsApp needs to point at a logged message: its id, chat, sender, and whether it was ours."""
    outgoing = row["direction"] == "out"
    return {
        "id": row["wa_id"],
        "message_id": row["id"],
        "from_me": outgoing,
        # The chat it is in: a group, or the other party's number (ours when outgoing).
        "chat": row["peer"] if outgoing else (row["chat"] or row["peer"]),
        "sender": None if outgoing else row["peer"],
    }


def quoted(row: dict) -> dict[str, Any]:
    """The message_key of a quoted message, with what the quote shows of it."""
    text = row["text"] if row["type"] == "text" or row["direction"] == "in" else row["caption"]
    return {**message_key(row), "type": row["type"], "text": (text or "")[:MAX_QUOTED_TEXT]}


def send_details(db: sqlite_utils.Database, instance_id: str, kind: str, to: str, request: Any) -> dict:
    """The details a send stores and its job carries: the quoted message, the location or the reaction."""
    details: dict[str, Any] = {}
    if request.reply_to is not None:
        details["reply_to"] = quoted(_referenced(db, instance_id, request.reply_to, "reply_to"))
    extras = request.extras
    if kind == "location":
        details["location"] = {
            name: extras.get(name) for name in ("latitude", "longitude", "name", "address")
        }
    if kind == "reaction":
        target = message_key(_referenced(db, instance_id, extras["message_id"], "message_id"))
        if target["chat"] != to:
            raise ApiError(
                422, f"message_id names a message of another chat ({target['chat']}), not of {to}."
            )
        details["reaction"] = {**target, "emoji": extras["emoji"]}
    return details
