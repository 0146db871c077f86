"""The OpenAPI paths of the endpoints beyond the contract's send: number checks, groups, their simulator control."""

from typing import Any

from megamsg.web.api.feature_schemas import MAX_CHECK_NUMBERS
from megamsg.web.api.openapi_operations import body, json_response, operation, simulator_operation
from megamsg.web.api.schema_parts import ok, ref

NOT_CONNECTED = "The session is not connected, or WhatsApp refused or did not answer."


def feature_paths() -> dict[str, dict[str, Any]]:
    """Path items by path."""
    bad_gateway = {502: json_response(ref("Error"), NOT_CONNECTED)}
    return {
        "/api/whatsapp/contacts/check": {
            "post": operation(
                "checkNumbers",
                "Which numbers are on WhatsApp",
                "contacts",
                {200: json_response(ref("NumberChecks"), "One entry per number given, in order.")},
                (400, 413, 422, 429, 502),
                description=f"At most {MAX_CHECK_NUMBERS} numbers per call. An invalid number gets "
                '"valid": false and an error in its own entry; the others are still checked.',
                request_body=body("CheckNumbersRequest"),
                error_overrides=bad_gateway,
            )
        },
        "/api/whatsapp/groups": {
            "get": operation(
                "listGroups",
                "The groups the linked number is in",
                "contacts",
                {200: json_response(ref("Groups"), "The groups, by id.")},
                (502,),
                error_overrides=bad_gateway,
            )
        },
        "/api/simulator/numbers": {
            "post": simulator_operation(
                "simulatorNumbers",
                "Declare numbers on WhatsApp or not (every valid number is, unless declared)",
                ok({"count": {"type": "integer", "minimum": 1}}),
                (400, 409, 413, 422, 502),
                "SimulatedNumbersRequest",
            )
        },
        "/api/simulator/groups": {
            "put": simulator_operation(
                "simulatorGroups",
                "Replace the groups the simulated phone is in",
                ok({"count": {"type": "integer", "minimum": 0}}),
                (400, 409, 413, 422, 502),
                "SimulatedGroupsRequest",
            )
        },
    }
