"""Requests beyond sending through neonize: number checks and the joined groups, with their translation."""

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from megamsg.runtime.drivers.base import DriverError, NotConnected
from megamsg.runtime.drivers.neonize.core import ClientGone, NeonizeCore
from megamsg.runtime.drivers.neonize.events import jid_to_string
from megamsg.runtime.drivers.neonize.loader import load_neonize
from megamsg.runtime.drivers.neonize.message_builders import jid

T = TypeVar("T")


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text.split("@", 1)[0])


def number_results(numbers: list[str], responses: Iterable[Any]) -> list[dict[str, Any]]:
    """Per E.164 number, in order, what IsOnWhatsApp answered (a number it left out is not on WhatsApp)."""
    # Answers come in no promised order: match them by the number queried.
    found = {}
    for response in responses:
        found[_digits(response.Query) or response.JID.User] = response
    results = []
    for number in numbers:
        response = found.get(_digits(number))
        on = response is not None and bool(response.IsIn)
        wa_id = (
            jid_to_string(response.JID) if response is not None and on and response.HasField("JID") else None
        )
        results.append({"phone_number": number, "on_whatsapp": on, "wa_id": wa_id})
    return results


def group_list(groups: Iterable[Any]) -> list[dict[str, Any]]:
    """GetJoinedGroups' GroupInfo list as {"id", "subject", "participants"}, by id."""
    listed = [
        {
            "id": jid_to_string(group.JID),
            "subject": group.GroupName.Name,
            "participants": len(group.Participants),
        }
        for group in groups
    ]
    return sorted(listed, key=lambda group: group["id"])


# WhatsApp's chat presence: composing (of text or of audio) or paused.
PRESENCE_STATES = {
    "typing": ("CHAT_PRESENCE_COMPOSING", "CHAT_PRESENCE_MEDIA_TEXT"),
    "recording": ("CHAT_PRESENCE_COMPOSING", "CHAT_PRESENCE_MEDIA_AUDIO"),
    "paused": ("CHAT_PRESENCE_PAUSED", "CHAT_PRESENCE_MEDIA_TEXT"),
}


def read_call(client: Any, message: dict[str, Any], read: Any) -> Callable[[], Any]:
    """The neonize call that marks an incoming message read (sender: who wrote it, in a group too)."""
    chat = jid(message["chat"])
    sender = jid(message.get("sender") or message["chat"])
    return lambda: client.mark_read(message["id"], chat=chat, sender=sender, receipt=read)


def presence_call(
    client: Any, to: str, state: str, chat_presence: Any, presence_media: Any
) -> Callable[[], Any]:
    """The neonize call that shows state in the chat with to (neonize's enums passed in)."""
    presence, media = PRESENCE_STATES[state]
    return lambda: client.send_chat_presence(jid(to), chat_presence[presence], presence_media[media])


class NeonizeFeatures(NeonizeCore):
    """Mixin of NeonizeDriver: calls on the live client that are not sends."""

    def _on_client(self, what: str, call: Callable[[Any], T]) -> T:
        """call(client) under the client lock while connected; NotConnected / DriverError otherwise."""
        attempt = self._attempt
        if self._status != "connected" or attempt is None:
            raise NotConnected(self._status)
        nz = load_neonize()
        client: Any = attempt.client
        try:
            return self._go(attempt, lambda: call(client))
        except ClientGone:
            raise NotConnected(self._status) from None
        except nz.NeonizeError as exc:
            raise DriverError(f"WhatsApp refused to {what}: {exc}") from exc

    def check_numbers(self, numbers: list[str]) -> list[dict[str, Any]]:
        """Ask WhatsApp which of the numbers have an account."""
        queries = ["+" + _digits(number) for number in numbers]
        responses = self._on_client("check the numbers", lambda client: client.is_on_whatsapp(*queries))
        return number_results(numbers, responses)

    def groups(self) -> list[dict[str, Any]]:
        """The groups the linked number is in."""
        return group_list(self._on_client("list the groups", lambda client: client.get_joined_groups()))

    def mark_read(self, message: dict[str, Any]) -> None:
        """Send WhatsApp a read receipt for an incoming message."""
        from neonize.utils.enum import ReceiptType

        self._on_client(
            "mark the message read", lambda client: read_call(client, message, ReceiptType.READ)()
        )

    def send_presence(self, to: str, state: str) -> None:
        """Show typing or recording in the chat, or stop (paused)."""
        from neonize.utils.enum import ChatPresence, ChatPresenceMedia

        self._on_client(
            "send the presence",
            lambda client: presence_call(client, to, state, ChatPresence, ChatPresenceMedia)(),
        )
