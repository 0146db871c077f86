"""WhatsApp messages that neonize has no one-call sender for: quoted replies, locations, reactions."""

import time
from typing import Any

from megamsg.runtime.drivers.neonize.protos import proto


def jid(text: str) -> Any:
    """A complete JID ("201234567890@s.whatsapp.net", "…@g.us", "+2012…") as Go expects one."""
    user, _, server = text.partition("@")
    if not server:
        user, server = user.lstrip("+"), "s.whatsapp.net"
    return proto("Neonize_pb2").JID(
        User=user, Server=server, RawAgent=0, Device=0, Integrator=0, IsEmpty=False
    )


def jid_text(text: str) -> str:
    """A chat or sender as WhatsApp writes it in message keys: "user@server"."""
    found = jid(text)
    return f"{found.User}@{found.Server}"


def quoted_content(quoted: dict[str, Any]) -> Any:
    """What the quote shows of the quoted message (its text or caption under its kind)."""
    e2e = proto("waE2E.WAWebProtobufsE2E_pb2")
    text = quoted.get("text") or ""
    kind = quoted.get("type")
    if kind in ("image", "video", "document"):
        return e2e.Message(**{f"{kind}Message": {"caption": text}})
    if kind == "audio":
        return e2e.Message(audioMessage={})
    return e2e.Message(conversation=text)


def quoted_event(quoted: dict[str, Any], own_jid: Any | None = None) -> Any:
    """A neonize message event standing for a logged message, to pass as `quoted` to neonize's senders."""
    nz = proto("Neonize_pb2")
    chat = jid(quoted["chat"])
    # Our own message: its sender is the linked number (neonize's quote names it as participant).
    sender = own_jid if quoted["from_me"] and own_jid is not None else jid(quoted["sender"] or quoted["chat"])
    source = nz.MessageSource(
        Chat=chat, Sender=sender, IsFromMe=bool(quoted["from_me"]), IsGroup=chat.Server == "g.us"
    )
    return nz.Message(
        Info=nz.MessageInfo(ID=quoted["id"], MessageSource=source), Message=quoted_content(quoted)
    )


def context_info(quoted: dict[str, Any], own_jid: Any | None = None) -> Any:
    """The ContextInfo that makes a message a reply to quoted (as neonize's reply builders fill it)."""
    event = quoted_event(quoted, own_jid)
    sender = event.Info.MessageSource.Sender
    return proto("waE2E.WAWebProtobufsE2E_pb2").ContextInfo(
        stanzaID=event.Info.ID, participant=f"{sender.User}@{sender.Server}", quotedMessage=event.Message
    )


def location_message(location: dict[str, Any], quoted: dict[str, Any] | None, own_jid: Any | None) -> Any:
    """A location pin, optionally replying to quoted."""
    e2e = proto("waE2E.WAWebProtobufsE2E_pb2")
    place = e2e.LocationMessage(
        degreesLatitude=float(location["latitude"]),
        degreesLongitude=float(location["longitude"]),
        name=location.get("name") or None,
        address=location.get("address") or None,
    )
    if quoted is not None:
        place.contextInfo.CopyFrom(context_info(quoted, own_jid))
    return e2e.Message(locationMessage=place)


def reaction_message(reaction: dict[str, Any]) -> Any:
    """A reaction to a logged message ("" removes it), keyed as whatsmeow's BuildReaction keys it."""
    key = proto("waCommon.WACommon_pb2").MessageKey(
        remoteJID=jid_text(reaction["chat"]), fromMe=bool(reaction["from_me"]), ID=reaction["id"]
    )
    if not reaction["from_me"] and reaction["chat"].endswith("@g.us") and reaction.get("sender"):
        key.participant = jid_text(reaction["sender"])
    return proto("waE2E.WAWebProtobufsE2E_pb2").Message(
        reactionMessage={"key": key, "text": reaction["emoji"], "senderTimestampMS": int(time.time() * 1000)}
    )
