"""The OpenAPI document's paths: every /api/ operation, its parameters, bodies and answers."""

from collections.abc import Mapping
from typing import Any

from megamsg.config import DEFAULTS
from megamsg.web.api.openapi_operations import (
    ERROR_DESCRIPTIONS,
    body,
    error,
    json_response,
    operation,
    simulator_operation,
)
from megamsg.web.api.request_schemas import (
    LIST_QUERY,
    MAX_LIMIT,
    MEDIA_TYPES,
    RECEIPT_STATUSES,
    query_parameters,
)
from megamsg.web.api.schema_parts import ok, ref, string


def paths(config: Mapping[str, Any]) -> dict[str, dict]:
    message_id = {
        "name": "message_id",
        "in": "path",
        "required": True,
        "schema": string(minLength=1),
        "description": "MegaMsg's message id (WhatsApp's id works too).",
    }
    replayed = {
        "Idempotent-Replayed": {
            "description": "Present (true) when this is the stored answer to an earlier request with the same key.",
            "schema": {"const": "true"},
        }
    }
    retry_after = {
        "Retry-After": {
            "description": "Seconds until the limit resets.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    simulator_on = config.get("WHATSAPP_DRIVER", DEFAULTS["WHATSAPP_DRIVER"]) == "simulator"
    send_timeout = config.get("SEND_TIMEOUT", DEFAULTS["SEND_TIMEOUT"])
    return {
        "/api/whatsapp/messages/send": {
            "post": operation(
                "sendMessage",
                "Send a text or media message",
                "messages",
                {
                    200: json_response(ref("SendResult"), "Sent.", replayed),
                    202: json_response(
                        {"oneOf": [ref("SendQueued"), ref("SendScheduled")]},
                        'Queued ("async": true) or scheduled ("send_at"); status webhooks follow.',
                        replayed,
                    ),
                },
                (400, 409, 413, 422, 429, 502),
                description=(
                    f"Waits up to {send_timeout:g} s for WhatsApp to accept the message, unless async. "
                    f"Media types: {', '.join(MEDIA_TYPES)}. Sends of an instance are paced (see "
                    "PUT /api/whatsapp/instance/settings): a send whose turn would come after that wait "
                    "answers 429 with Retry-After and is not sent."
                ),
                request_body=body("SendRequest"),
                parameters=[{"$ref": "#/components/parameters/IdempotencyKey"}],
                error_overrides={
                    409: error("A request with this Idempotency-Key is still in progress."),
                    422: json_response(
                        ref("Error"),
                        ERROR_DESCRIPTIONS[422] + " Also: Idempotency-Key reused with a different body.",
                    ),
                    429: json_response(
                        ref("Error"),
                        ERROR_DESCRIPTIONS[429] + " Also: the paced queue is too long for a synchronous "
                        "send to wait for its turn (nothing was sent; retry later or use async).",
                        retry_after,
                    ),
                    502: json_response(
                        ref("SendFailure"),
                        "Not sent: the session is not connected (no id), or WhatsApp refused or did not "
                        'answer (with the message id and "status": "failed").',
                        replayed,
                    ),
                },
            )
        },
        "/api/whatsapp/messages": {
            "get": operation(
                "listMessages",
                "List messages, newest first",
                "messages",
                {
                    200: json_response(
                        ok(
                            {
                                "messages": {
                                    "type": "array",
                                    "items": ref("Message"),
                                    "maxItems": MAX_LIMIT,
                                },
                                "next_before": {
                                    "type": ["integer", "null"],
                                    "minimum": 1,
                                    "description": "Pass as ?before= for the next page; null on the last one.",
                                },
                            }
                        ),
                        "A page of messages.",
                    )
                },
                (422,),
                parameters=query_parameters(LIST_QUERY),
            )
        },
        "/api/whatsapp/messages/{message_id}": {
            "get": operation(
                "getMessage",
                "One message with its status history",
                "messages",
                {
                    200: json_response(
                        ok({"message": {"allOf": [ref("Message"), {"required": ["history"]}]}}),
                        "The message.",
                    )
                },
                (404,),
                parameters=[message_id],
                error_overrides={404: error("No message with that id on this instance.")},
            ),
            "delete": operation(
                "cancelMessage",
                "Cancel a scheduled or queued message",
                "messages",
                {
                    200: json_response(
                        ref("Cancelled"), "Cancelled: it will not be sent; a status webhook follows."
                    )
                },
                (404, 409),
                parameters=[message_id],
                error_overrides={
                    404: error("No message with that id on this instance."),
                    409: error("The message is already sending, sent, failed or cancelled."),
                },
            ),
        },
        "/api/whatsapp/media/{message_id}": {
            "get": operation(
                "getMedia",
                "Download an incoming message's media",
                "messages",
                {
                    200: {
                        "description": "The media bytes, as an attachment, with their MIME type.",
                        "headers": {
                            "Content-Disposition": {
                                "required": True,
                                "schema": string(pattern="^attachment"),
                            }
                        },
                        "content": {"*/*": {"schema": {}}},
                    }
                },
                (404,),
                parameters=[message_id],
                error_overrides={
                    404: json_response(
                        ref("Error"), "No media for that message, or it is past its retention period."
                    )
                },
            )
        },
        "/api/whatsapp/instance": {
            "get": operation(
                "getInstance",
                "The instance and its live session status",
                "instance",
                {200: json_response(ref("Instance"), "The instance.")},
                (),
            )
        },
        "/api/whatsapp/instance/qr": {
            "get": operation(
                "getQr",
                "The QR code to scan now",
                "instance",
                {200: json_response(ref("Qr"), "The current QR code.")},
                (409,),
                error_overrides={409: error("There is no QR code to scan (already connected, or starting).")},
            )
        },
        "/api/whatsapp/instance/pair-code": {
            "post": operation(
                "requestPairCode",
                "Link by phone number instead of QR",
                "instance",
                {200: json_response(ref("PairCode"), "The code to type on the phone.")},
                (400, 409, 413, 422, 502),
                request_body=body("PairCodeRequest"),
                error_overrides={409: error("The session cannot pair now (e.g. already linked).")},
            )
        },
        "/api/whatsapp/instance/logout": {
            "post": operation(
                "logout",
                "Unlink the WhatsApp session (a new QR code follows)",
                "instance",
                {200: json_response(ref("Ok"), "Logged out.")},
                (409, 502),
                error_overrides={409: error("WhatsApp refused the logout.")},
            )
        },
        "/api/whatsapp/instance/webhook": {
            "get": operation(
                "getWebhook",
                "The webhook URL, signing secret and event kinds",
                "instance",
                {200: json_response(ref("Webhook"), "The webhook settings.")},
                (),
            ),
            "put": operation(
                "setWebhook",
                "Set or clear the webhook",
                "instance",
                {200: json_response(ref("Webhook"), "The new webhook settings.")},
                (400, 413, 422),
                request_body=body("WebhookRequest"),
            ),
        },
        "/api/whatsapp/instance/settings": {
            "put": operation(
                "setSettings",
                "Set the instance's pacing",
                "instance",
                {200: json_response(ref("Settings"), "The pacing now in effect.")},
                (400, 413, 422),
                request_body=body("SettingsRequest"),
            )
        },
        "/api/simulator/scan": {
            "post": simulator_operation(
                "simulatorScan",
                "The simulated phone scans the QR code",
                ok({"status": {"const": "connected"}}),
                (400, 409, 413, 422, 502),
                "ScanRequest",
            )
        },
        "/api/simulator/incoming": {
            "post": simulator_operation(
                "simulatorIncoming",
                "An incoming WhatsApp message from the simulated network",
                ok({"id": string("WhatsApp id of the message.", minLength=1)}),
                (400, 409, 413, 422, 502),
                "IncomingRequest",
            )
        },
        "/api/simulator/receipt": {
            "post": simulator_operation(
                "simulatorReceipt",
                "The recipient acknowledges a sent message",
                ok({"status": {"enum": list(RECEIPT_STATUSES)}}),
                (400, 409, 413, 422, 502),
                "ReceiptRequest",
            )
        },
        "/api/simulator/disconnect": {
            "post": simulator_operation(
                "simulatorDisconnect",
                "Simulate losing the network",
                ok({"status": {"const": "disconnected"}}),
                (409, 502),
            )
        },
        "/api/simulator/reconnect": {
            "post": simulator_operation(
                "simulatorReconnect",
                "Simulate the network coming back",
                ok({"status": {"const": "connected"}}),
                (409, 502),
            )
        },
        "/api/simulator/fail-next": {
            "post": simulator_operation(
                "simulatorFailNext",
                "Make the next send fail with the given error",
                ok({"armed": {"const": True}}),
                (400, 409, 413, 422, 502),
                "FailNextRequest",
            )
        },
        "/api/simulator/delay-next": {
            "post": simulator_operation(
                "simulatorDelayNext",
                "Make the next send take this long (a slow network)",
                ok({"armed": {"const": True}}),
                (400, 409, 413, 422, 502),
                "DelayNextRequest",
            )
        },
        "/api/simulator/outbox": {
            "get": simulator_operation(
                "simulatorOutbox",
                "What reached the simulated network, oldest first",
                ok({"messages": {"type": "array", "items": ref("OutboxEntry")}}),
                (),
            )
        },
        "/api/openapi.json": {
            "get": operation(
                "getOpenApi",
                "This document",
                "meta",
                {200: json_response(ref("OpenApiDocument"), "The OpenAPI 3.1 document.")},
                (),
                auth=False,
                description=f"Simulator endpoints are {'enabled' if simulator_on else 'disabled (404)'} here.",
            )
        },
    }
