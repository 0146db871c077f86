"""Pure translation of neonize protobuf events into MegaMsg event dicts (see drivers/base.py)."""

import logging
import time
from collections.abc import Callable
from typing import Any

from megamsg.runtime.drivers.neonize.incoming_kinds import location_details, reply_details, special_content

log = logging.getLogger(__name__)

PHONE_SERVERS = ("s.whatsapp.net", "c.us")

# Containers whatsmeow may leave around the real content.
WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "lottieStickerMessage",
    "groupMentionedMessage",
    "editedMessage",  # an edit: a MESSAGE_EDIT protocol message inside
)
MEDIA_FIELDS = {
    "imageMessage": ("image", "image/jpeg"),
    "videoMessage": ("video", "video/mp4"),
    "ptvMessage": ("video", "video/mp4"),
    "audioMessage": ("audio", "audio/ogg"),
    "documentMessage": ("document", "application/octet-stream"),
    "stickerMessage": ("sticker", "image/webp"),
}
RECEIPT_STATUS = {"DELIVERED": "delivered", "READ": "read", "PLAYED": "played"}
SESSION_STATUS = {"Connected": "connected", "Disconnected": "disconnected", "LoggedOut": "logged_out"}


def jid_to_string(jid: Any) -> str:
    """A JID as "user@server", without agent or device."""
    return f"{jid.User}@{jid.Server}" if jid.User else jid.Server


def unix_seconds(value: int) -> int:
    """Seconds from a timestamp in s, ms or µs; now when missing."""
    if value <= 0:
        return int(time.time())
    if value >= 10**14:
        return value // 1_000_000
    if value >= 10**11:
        return value // 1000
    return value


def phone_of(jid: Any) -> str | None:
    """The digits of a phone-number JID, None for LIDs, groups and the like."""
    if jid.Server in PHONE_SERVERS and jid.User.isdigit():
        return jid.User
    return None


def sender_number(source: Any, resolve_lid: Callable[[Any], str | None] | None = None) -> str | None:
    """The sender's phone digits, mapping a LID through SenderAlt or resolve_lid."""
    sender = source.Sender if source.Sender.User else source.Chat
    number = phone_of(sender)
    if number or sender.Server != "lid":
        return number
    if source.HasField("SenderAlt") and (alt := phone_of(source.SenderAlt)):
        return alt
    return resolve_lid(sender) if resolve_lid else None


def unwrap_message(message: Any) -> Any:
    """The content inside ephemeral / view-once / document-with-caption wrappers."""
    for _ in range(4):
        inner = next((getattr(message, name) for name in WRAPPERS if message.HasField(name)), None)
        if inner is None or not inner.HasField("message"):
            return message
        message = inner.message
    return message


def message_content(message: Any) -> tuple[str, str, dict[str, Any] | None] | None:
    """(type, text, media) of a WhatsApp message; None for reactions, protocol messages…"""
    message = unwrap_message(message)
    if message.conversation:
        return "text", message.conversation, None
    if message.HasField("extendedTextMessage"):
        return "text", message.extendedTextMessage.text, None
    for name, (kind, default_mime) in MEDIA_FIELDS.items():
        if message.HasField(name):
            part = getattr(message, name)
            fields = part.DESCRIPTOR.fields_by_name
            media = {
                "mime_type": part.mimetype or default_mime,
                "file_name": (part.fileName or None) if "fileName" in fields else None,
                "size": int(part.fileLength),
            }
            caption = part.caption if "caption" in fields else ""
            return kind, caption, media
    for name in ("locationMessage", "liveLocationMessage"):
        if message.HasField(name):
            place = getattr(message, name)
            label = ", ".join(
                text
                for text in (
                    getattr(place, "name", ""),
                    getattr(place, "address", ""),
                    getattr(place, "caption", ""),
                )
                if text
            )
            coordinates = f"{place.degreesLatitude},{place.degreesLongitude}"
            return "location", f"{coordinates} ({label})" if label else coordinates, None
    if message.HasField("contactMessage"):
        return "contact", message.contactMessage.vcard or message.contactMessage.displayName, None
    if message.HasField("contactsArrayMessage"):
        cards = [card.vcard or card.displayName for card in message.contactsArrayMessage.contacts]
        return "contact", "\n".join(cards), None
    return None


def media_message_from(message: Any) -> Any | None:
    """A message holding only the downloadable part (what download_any understands), or None."""
    message = unwrap_message(message)
    for name in MEDIA_FIELDS:
        if message.HasField(name):
            target = "videoMessage" if name == "ptvMessage" else name
            downloadable = type(message)()
            getattr(downloadable, target).CopyFrom(getattr(message, name))
            return downloadable
    return None


def message_event_from(
    ev: Any, resolve_lid: Callable[[Any], str | None] | None = None
) -> dict[str, Any] | None:
    """The "message" event for a neonize MessageEv, or None when it is not for the webhook."""
    info = ev.Info
    source = info.MessageSource
    chat = source.Chat
    if source.IsFromMe:
        return None
    if chat.Server == "newsletter" or (chat.Server == "broadcast" and chat.User == "status"):
        return None
    unwrapped = unwrap_message(ev.Message)
    special = special_content(unwrapped, message_content)
    content = special[:2] + (None,) if special else message_content(ev.Message)
    if content is None:
        return None
    details = special[2] if special else {**location_details(unwrapped), **reply_details(unwrapped)}
    number = sender_number(source, resolve_lid)
    sender_lid = None
    if number is None:
        # Never drop a message, and never pass a LID off as a phone number: "from" stays empty.
        sender_lid = jid_to_string(source.Sender if source.Sender.User else chat)
        log.warning("WhatsApp message %s: sender %s has no known phone number", info.ID, sender_lid)
    kind, text, media = content
    is_group = bool(source.IsGroup or chat.Server == "g.us")
    return {
        "kind": "message",
        "wa_id": info.ID,
        "from": number or "",
        "sender_lid": sender_lid,
        "push_name": info.Pushname,
        "chat": jid_to_string(chat) if is_group else None,
        "is_group": is_group,
        "type": kind,
        "text": text or "",
        "timestamp": unix_seconds(info.Timestamp),
        "media": media,
        **details,
    }


def receipt_event_from(
    ev: Any, resolve_lid: Callable[[Any], str | None] | None = None
) -> dict[str, Any] | None:
    """The "receipt" event for a neonize ReceiptEv; None for retry, self and other receipt types."""
    # Type is proto2-optional with DELIVERED as its default: an unset Type must not read as delivered.
    if not ev.HasField("Type") or not ev.MessageIDs:
        return None
    status = RECEIPT_STATUS.get(type(ev).ReceiptType.Name(ev.Type))
    if status is None:
        return None
    chat = ev.MessageSource.Chat
    if chat.Server == "lid" and resolve_lid and (number := resolve_lid(chat)):
        chat_text = f"{number}@s.whatsapp.net"
    else:
        chat_text = jid_to_string(chat)
    return {
        "kind": "receipt",
        "wa_ids": list(ev.MessageIDs),
        "status": status,
        "timestamp": unix_seconds(ev.Timestamp),
        "chat": chat_text,
    }


def session_event_from(ev: Any, phone_number: str | None = None) -> dict[str, Any] | None:
    """The "session" event for ConnectedEv / DisconnectedEv / LoggedOutEv."""
    status = SESSION_STATUS.get(ev.DESCRIPTOR.name)
    if status is None:
        return None
    return {"kind": "session", "status": status, "phone_number": phone_number or None}


def logged_out_reason(ev: Any) -> str:
    """Human-readable reason of a LoggedOutEv."""
    if not ev.HasField("Reason"):
        return "logged out"
    enum = ev.DESCRIPTOR.fields_by_name["Reason"].enum_type
    value = enum.values_by_number.get(ev.Reason)
    return value.name.lower().replace("_", " ") if value else f"reason {ev.Reason}"
