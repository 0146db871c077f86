"""Schemas of the endpoints beyond the contract's send: number checks, groups (requests and answers)."""

from megamsg.web.api.group_ids import GROUP_ID_PATTERN, GROUP_ID_PROBLEM, group_id
from megamsg.web.api.request_schemas import FORMATS, PATTERN_PROBLEMS, phone
from megamsg.web.api.schema_parts import nullable, obj, ok, string
from megamsg.web.validation import RequestSchema

MAX_CHECK_NUMBERS = 50
MAX_SIMULATED_NUMBERS = 1000
MAX_SIMULATED_GROUPS = 100
MAX_SUBJECT = 100
MAX_PARTICIPANTS = 1024


def _request(schema: dict, messages: dict[tuple[str, str], str] | None = None) -> RequestSchema:
    patterns = {**PATTERN_PROBLEMS, GROUP_ID_PATTERN: GROUP_ID_PROBLEM}
    return RequestSchema(schema, formats=FORMATS, patterns=patterns, messages=messages)


CHECK_NUMBERS = _request(
    obj(
        {
            "phone_numbers": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_CHECK_NUMBERS,
                "items": {"type": "string"},
                "description": f"Up to {MAX_CHECK_NUMBERS} international numbers; an invalid one is "
                "reported in its own entry, not as a failure of the call.",
                "examples": [["+201234567890", "+201234567891"]],
            }
        },
        strict=False,
    ),
    {
        ("phone_numbers", "type"): "phone_numbers must be a list of phone numbers (strings).",
        ("phone_numbers", "minItems"): "phone_numbers must hold at least one number.",
        (
            "phone_numbers",
            "maxItems",
        ): f"phone_numbers may hold at most {MAX_CHECK_NUMBERS} numbers per call.",
    },
)

SIMULATED_NUMBERS = _request(
    obj(
        {
            "phone_numbers": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_SIMULATED_NUMBERS,
                "items": phone("A number to declare."),
            },
            "on_whatsapp": {"type": "boolean", "description": "Whether these numbers have WhatsApp."},
        },
        strict=False,
    ),
    {
        ("phone_numbers", "type"): "phone_numbers must be a list of phone numbers (strings).",
        ("phone_numbers", "minItems"): "phone_numbers must hold at least one number.",
        ("phone_numbers", "maxItems"): f"phone_numbers may hold at most {MAX_SIMULATED_NUMBERS} numbers.",
    },
)

GROUP = obj(
    {
        "id": group_id("The group's id."),
        "subject": string("The group's name.", maxLength=MAX_SUBJECT),
        "participants": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_PARTICIPANTS,
            "description": "How many members it has.",
        },
    }
)

SIMULATED_GROUPS = _request(
    obj(
        {"groups": {"type": "array", "maxItems": MAX_SIMULATED_GROUPS, "items": GROUP}},
        strict=False,
    ),
    {("groups", "type"): "groups must be a list of objects with id, subject and participants."},
)


def request_components() -> dict[str, dict]:
    """The request bodies of these endpoints, as OpenAPI component schemas."""
    return {
        "CheckNumbersRequest": CHECK_NUMBERS.schema,
        "SimulatedNumbersRequest": SIMULATED_NUMBERS.schema,
        "SimulatedGroupsRequest": SIMULATED_GROUPS.schema,
    }


def response_components() -> dict[str, dict]:
    """The answers of these endpoints, as OpenAPI component schemas."""
    number = obj(
        {
            "input": string("The number as given."),
            "valid": {"type": "boolean", "description": "Whether it is a valid international number."},
            "phone_number": nullable(string("Normalised (E.164); null when invalid.")),
            "on_whatsapp": {"type": ["boolean", "null"], "description": "null when the number is invalid."},
            "wa_id": nullable(string("Its WhatsApp id (…@s.whatsapp.net) when it has one.")),
            "error": string("Why the number is invalid (invalid entries only)."),
        },
        ["input", "valid", "phone_number", "on_whatsapp", "wa_id"],
    )
    return {
        "NumberCheck": number,
        "NumberChecks": ok(
            {"results": {"type": "array", "items": {"$ref": "#/components/schemas/NumberCheck"}}}
        ),
        "Group": GROUP,
        "Groups": ok({"groups": {"type": "array", "items": {"$ref": "#/components/schemas/Group"}}}),
    }
