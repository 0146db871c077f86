"""Incoming reactions, edits, deletions, locations and replies: their own fields in the "message" event."""

from collections.abc import Callable
from typing import Any

# What a reaction, an edit or a deletion is about: WhatsApp's id of that message.
Special = tuple[str, str, dict[str, Any]]


def _protocol_kind(message: Any) -> str:
    protocol = message.protocolMessage
    return str(type(protocol).Type.Name(protocol.type)) if protocol.HasField("type") else ""


def special_content(message: Any, content_of: Callable[[Any], tuple[str, str, Any] | None]) -> Special | None:
    """(type, text, details) of a reaction, an edit or a deletion; None for anything else."""
    if message.HasField("reactionMessage"):
        reaction = message.reactionMessage
        details = {"id": reaction.key.ID, "from_me": bool(reaction.key.fromMe), "emoji": reaction.text}
        return "reaction", reaction.text, {"reaction": details}
    if not message.HasField("protocolMessage"):
        return None
    kind, key = _protocol_kind(message), message.protocolMessage.key
    if kind == "REVOKE":
        return "deleted", "", {"deleted": {"id": key.ID}}
    if kind == "MESSAGE_EDIT":
        edited = content_of(message.protocolMessage.editedMessage)
        text = edited[1] if edited else ""
        return "edited", text, {"edited": {"id": key.ID, "text": text}}
    return None


def location_details(message: Any) -> dict[str, Any]:
    """{"location": {…}} of a location message, {} for anything else."""
    for name in ("locationMessage", "liveLocationMessage"):
        if message.HasField(name):
            place = getattr(message, name)
            return {
                "location": {
                    "latitude": place.degreesLatitude,
                    "longitude": place.degreesLongitude,
                    "name": getattr(place, "name", "") or None,
                    "address": getattr(place, "address", "") or None,
                }
            }
    return {}


def reply_details(message: Any) -> dict[str, Any]:
    """{"reply_to": {"id", "from"}} when the message quotes another, {} otherwise."""
    for _field, part in message.ListFields():
        if not hasattr(part, "DESCRIPTOR") or "contextInfo" not in part.DESCRIPTOR.fields_by_name:
            continue
        if part.HasField("contextInfo") and part.contextInfo.stanzaID:
            user, _, server = part.contextInfo.participant.partition("@")
            # A LID is not a number: the quoted message's sender is then unknown.
            sender = user if server in ("s.whatsapp.net", "c.us") else ""
            return {
                "reply_to": {"id": part.contextInfo.stanzaID, "from": sender if sender.isdigit() else None}
            }
    return {}
