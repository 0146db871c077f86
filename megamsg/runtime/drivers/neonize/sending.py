"""Outgoing messages: what is checked before neonize sees one, and the neonize call that sends it."""

import re
import shutil
from collections.abc import Callable
from typing import Any

from megamsg.runtime.drivers.base import DriverError, OutgoingMessage
from megamsg.runtime.drivers.neonize.core import GoClient
from megamsg.runtime.drivers.neonize.message_builders import location_message, quoted_event, reaction_message


def checked_recipient(message: OutgoingMessage) -> str:
    """The recipient's digits, once the message has what its type needs (DriverError otherwise)."""
    group = (message.to or "").endswith("@g.us")
    number = message.to.split("@", 1)[0] if group else re.sub(r"\D", "", message.to or "")
    if not number:
        raise DriverError("The recipient must be a phone number such as +201234567890.")
    kind = message.type
    if kind == "text" and not message.text:
        raise DriverError("A text message needs some text.")
    if kind in ("image", "audio", "video", "document") and not message.media:
        raise DriverError(f"The {kind} message has no media to send.")
    if kind in ("location", "reaction") and not message.details.get(kind):
        raise DriverError(f"The {kind} has nothing to send.")
    if kind in ("audio", "video"):
        missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
        if missing:
            raise DriverError(
                f"Sending {kind} needs {' and '.join(missing)} on the server (e.g. apt-get install ffmpeg)."
            )
    return number


def recipient_server(message: OutgoingMessage) -> str:
    """The JID server of the message's recipient: a group or a phone number."""
    return "g.us" if (message.to or "").endswith("@g.us") else "s.whatsapp.net"


def send_call(
    client: GoClient, jid: Any, message: OutgoingMessage, own_jid: Any | None = None
) -> Callable[[], Any] | None:
    """The neonize call that sends a checked message to jid; None for a type WhatsApp cannot take."""
    # checked_recipient() has refused a text without text and a media type without media.
    text, media = message.text or "", message.media or b""
    details = message.details
    reply = details.get("reply_to")
    # neonize's senders take the quoted message as an event; own_jid names us when we quote ourselves.
    quoted = {"quoted": quoted_event(reply, own_jid)} if reply else {}
    calls: dict[str, Callable[[], Any]] = {
        "text": lambda: (
            client.reply_message(text, quoted["quoted"], to=jid) if quoted else client.send_message(jid, text)
        ),
        "image": lambda: client.send_image(jid, media, caption=message.caption or None, **quoted),
        "audio": lambda: client.send_audio(jid, media, ptt=bool(message.ptt), **quoted),
        "video": lambda: client.send_video(jid, media, caption=message.caption or None, **quoted),
        "document": lambda: client.send_document(
            jid,
            media,
            caption=message.caption or None,
            title=message.file_name or None,
            filename=message.file_name or None,
            mimetype=message.mime_type or None,
            **quoted,
        ),
        "location": lambda: client.send_message(jid, location_message(details["location"], reply, own_jid)),
        "reaction": lambda: client.send_message(jid, reaction_message(details["reaction"])),
    }
    return calls.get(message.type)
