"""Schemas of a message's details in answers and webhooks: reply_to, location, reaction, edited, deleted."""

from megamsg.web.api.schema_parts import nullable, obj, string

WA_ID = string("WhatsApp's id of the message referred to.", minLength=1)
MEGAMSG_ID = nullable(string("MegaMsg's id of that message, when the message log holds it."))


def _reference(description: str, **more: dict) -> dict:
    return obj({"id": WA_ID, "message_id": MEGAMSG_ID, **more}, description=description)


LOCATION = obj(
    {
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "name": nullable(string("The place's name.")),
        "address": nullable(string("The place's address.")),
    },
    description="Extension: the location of a location message.",
)

DETAIL_PROPERTIES = {
    "reply_to": _reference("Extension: the message this one quotes (a reply)."),
    "location": LOCATION,
    "reaction": _reference(
        "Extension: a reaction, to the message referred to; an empty emoji removes the reaction.",
        emoji=string("The emoji; empty when the reaction was removed."),
    ),
    "edited": _reference(
        "Extension: an edit of the message referred to.", text=string("The message's new text.")
    ),
    "deleted": _reference("Extension: the message referred to was deleted for everyone."),
}
