"""The messages page's query string: filters and cursors, checked, with a message per problem."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from megamsg.phone import PhoneError, normalise_phone
from megamsg.store.message_search import MessageFilter

DIRECTIONS = {"in": "Incoming", "out": "Outgoing"}
STATUSES = ("scheduled", "queued", "sent", "delivered", "read", "played", "failed", "cancelled", "received")
TYPES = (
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contact",
    "reaction",
    "edited",
    "deleted",
)
MAX_SEARCH = 200
FILTER_KEYS = ("direction", "status", "type", "number", "q")
CURSOR_KEYS = ("before", "after")


@dataclass
class Query:
    """What the page was asked for: filters, a cursor, the raw values (to refill the form) and problems."""

    filters: MessageFilter = field(default_factory=MessageFilter)
    before: int | None = None
    after: int | None = None
    raw: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def filtered(self) -> bool:
        """Whether any filter narrows the list."""
        return any(self.raw.get(key) for key in FILTER_KEYS)

    def filter_args(self) -> dict[str, str]:
        """The non-empty filters, for links that keep them."""
        return {key: self.raw[key] for key in FILTER_KEYS if self.raw.get(key)}


def _choice(
    value: str, allowed: tuple[str, ...] | dict[str, str], name: str, errors: list[str]
) -> str | None:
    if not value:
        return None
    if value not in allowed:
        errors.append(f"{name} must be one of {', '.join(allowed)} (got “{value[:40]}”).")
        return None
    return value


def _cursor(value: str, name: str, errors: list[str]) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18 or int(value) < 1:
        errors.append(f"{name} must be a positive whole number (a position in the log; got “{value[:40]}”).")
        return None
    return int(value)


def parse_query(args: Mapping[str, str]) -> Query:
    """Check the query string; every problem is listed in Query.errors."""
    raw = {key: (args.get(key) or "").strip() for key in (*FILTER_KEYS, *CURSOR_KEYS)}
    errors: list[str] = []
    peer = None
    if raw["number"]:
        try:
            peer = normalise_phone(raw["number"])
        except PhoneError as exc:
            errors.append(f"Number {exc}")
    if len(raw["q"]) > MAX_SEARCH:
        errors.append(f"Search text is too long ({len(raw['q'])} characters; at most {MAX_SEARCH}).")
    filters = MessageFilter(
        direction=_choice(raw["direction"], DIRECTIONS, "Direction", errors),
        status=_choice(raw["status"], STATUSES, "Status", errors),
        type=_choice(raw["type"], TYPES, "Type", errors),
        peer=peer,
        text=raw["q"] or None,
    )
    before = _cursor(raw["before"], "before", errors)
    after = _cursor(raw["after"], "after", errors)
    if before is not None and after is not None:
        errors.append("Use either before or after, not both.")
    return Query(filters, before, after, raw, errors)
