"""Sample values built from JSON Schemas (the tests check each one validates against its schema)."""

from collections.abc import Mapping
from typing import Any

from megamsg.web.docs.schema_walk import forbidden, types_of, values_of, variants

PLACEHOLDER_MESSAGE_ID = "MESSAGE_ID"
# Readable values for property names whose schema alone would give a dull one ("string").
NAMED = {
    "text": "Hello from MegaMsg!",
    "to": "+201234567890",
    "from": "+201234567890",
    "phone_number": "+201234567890",
    "id": "3EB0C767D26A1D0F2E4C",
    "wa_id": "3EB0C767D26A1D0F2E4C",
    "message_id": PLACEHOLDER_MESSAGE_ID,
    "instance_id": "inst_5c1f0e9a8b7d6c5e4f3a2b1c",
    "name": "Support",
    "push_name": "John Doe",
    "url": "https://example.com/webhooks/megamsg",
    "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "code": "ABCD-EFGH",
    "qr": "2@Kp3R0ZXN0LXFyLXBheWxvYWQ=",
    "svg": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 41 41">…</svg>',
    "events": ["message", "status", "session"],
    "seconds": 3,
    "expires_in": 20,
    "created_at": "2026-05-02T12:00:00+00:00",
    "updated_at": "2026-05-02T12:00:01+00:00",
    "at": "2026-05-02T12:00:00+00:00",
    "timestamp": "2026-05-02T12:00:00+00:00",
}
# Optional properties a sample still shows (the others are left out, as a minimal request would).
OPTIONAL_SHOWN = {"push_name", "events", "text", "phone_number"}  # phone_number: or group_id
# For enums: the value a sample prefers when the enum has it (else its first value).
PREFERRED = ("connected", "sent", "delivered", "text")
BY_FORMAT = {"date-time": "2026-05-02T12:00:00+00:00", "phone": "+201234567890"}


def sample(doc: Mapping[str, Any], schema: Any, name: str = "") -> Any:
    """A value the schema accepts: its example, const or default, a named sample, else one by type."""
    options = variants(doc, schema)
    if not options:
        return None
    option = options[0]
    if option.get("examples"):
        return option["examples"][0]
    if "example" in option:
        return option["example"]
    if "const" in option:
        return option["const"]
    types = types_of(option)
    values = values_of(option)
    if name in NAMED and _json_type_fits(NAMED[name], types) and (not values or NAMED[name] in values):
        return NAMED[name]
    if option.get("default") is not None:
        return option["default"]
    if values:
        return next((value for value in PREFERRED if value in values), values[0])
    kind = types[0] if types else "null"
    if "null" in types:
        return None  # a field without a named sample: null is its most common value
    if kind == "object":
        return _object(doc, option)
    if kind == "array":
        return [sample(doc, option.get("items", {}), name)]
    if kind == "string":
        return BY_FORMAT.get(str(option.get("format")), name or "string")
    if kind in ("integer", "number"):
        return _number(option)
    return {"boolean": False, "null": None}.get(kind)


def _object(doc: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Required properties, plus the optional ones worth showing."""
    required = set(schema.get("required", []))
    result = {}
    for key, prop in schema.get("properties", {}).items():
        if forbidden(prop) or (key not in required and key not in OPTIONAL_SHOWN):
            continue
        result[key] = sample(doc, prop, key)
    for key in schema.get("required", []):
        if key not in result:
            # Required but not described: any value passes; {} reads as "an object, see elsewhere".
            result[key] = {}
    return result


def _number(schema: Mapping[str, Any]) -> int | float:
    if "minimum" in schema:
        return int(schema["minimum"])
    if "exclusiveMinimum" in schema:
        return int(schema["exclusiveMinimum"]) + 1
    return 1


def _json_type_fits(value: Any, types: list[str]) -> bool:
    """Whether a named sample suits the schema's type (a "timestamp" may be a string or an integer)."""
    if not types:
        return True
    if isinstance(value, bool):
        return "boolean" in types
    if isinstance(value, int):
        return bool({"integer", "number"} & set(types))
    if isinstance(value, str):
        return "string" in types
    if isinstance(value, list):
        return "array" in types
    return "object" in types
