"""A logged message's details (reply, location, reaction, edit, deletion) as the API shows them."""

import json
from typing import Any

# Per detail, the keys shown; a reference to another message shows its WhatsApp id and MegaMsg's id.
PUBLIC_KEYS = {
    "reply_to": ("id", "message_id"),
    "location": ("latitude", "longitude", "name", "address"),
    "reaction": ("id", "message_id", "emoji"),
    "edited": ("id", "message_id", "text"),
    "deleted": ("id", "message_id"),
}


def stored_details(row: dict) -> dict[str, Any]:
    """The row's details column, parsed ({} when it has none)."""
    raw = row.get("details")
    return json.loads(raw) if raw else {}


def public_details(row: dict) -> dict[str, Any]:
    """The details of a logged message, keyed as in the API's answers and webhooks."""
    details = stored_details(row)
    return {
        name: {key: details[name].get(key) for key in keys}
        for name, keys in PUBLIC_KEYS.items()
        if details.get(name)
    }
