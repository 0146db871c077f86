"""The OpenAPI paths of the endpoints beyond the contract's send: number checks, groups, their simulator control."""

from typing import Any

from megamsg.web.api.feature_schemas import MAX_CHECK_NUMBERS
from megamsg.web.api.openapi_operations import body, json_response, operation, simulator_operation
from megamsg.web.api.schema_parts import ok, ref, string

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
        "/api/whatsapp/messages/{message_id}/read": {
            "post": operation(
                "markRead",
                "Mark an incoming message read",
                "messages",
                {200: json_response(ref("MarkedRead"), "WhatsApp got the read receipt; the log says read.")},
                (404, 422, 429, 502),
                description="The sender sees the message as read (blue ticks, if their privacy settings "
                "allow). Only incoming messages; marking one twice is harmless.",
                parameters=[
                    {
                        "name": "message_id",
                        "in": "path",
                        "required": True,
                        "schema": string(minLength=1),
                        "description": "MegaMsg's id of an incoming message (WhatsApp's id works too).",
                    }
                ],
                error_overrides={
                    **bad_gateway,
                    404: json_response(ref("Error"), "No message with that id on this instance."),
                    422: json_response(ref("Error"), "The message is not an incoming one."),
                },
            )
        },
        "/api/whatsapp/presence": {
            "post": operation(
                "sendPresence",
                "Show typing or recording in a chat",
                "messages",
                {200: json_response(ref("PresenceSent"), "WhatsApp got the presence.")},
                (400, 413, 422, 429, 502),
                description='Give phone_number or group_id (exactly one) and "state": typing, recording or '
                "paused. Nothing is logged or sent twice: presence is momentary, so no Idempotency-Key.",
                request_body=body("PresenceRequest"),
                error_overrides=bad_gateway,
            )
        },
        "/api/simulator/activity": {
            "get": simulator_operation(
                "simulatorActivity",
                "Read receipts and presence the simulated network got, oldest first",
                ref("SimulatorActivity"),
                (),
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
