"""What an injected reply, location, reaction, edit or deletion hands the simulated phone (issue 13 item 8)."""

from collections.abc import Callable
from typing import Any

FIELDS = ("emoji", "from_me", "latitude", "longitude", "name", "address")


def injected_details(body: dict[str, Any], wa_id_for: Callable[[str], str]) -> dict[str, Any]:
    """The control action's extra params; ids of messages referred to become WhatsApp's (MegaMsg's work too)."""
    params = {name: body[name] for name in FIELDS if body.get(name) is not None}
    for name in ("message_id", "reply_to"):
        if body.get(name):
            params[name] = wa_id_for(body[name])
    return params
