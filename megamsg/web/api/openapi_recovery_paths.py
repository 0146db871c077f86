"""The OpenAPI paths of the recovery endpoints: redelivering a range of webhook events, the simulator's burst."""

from typing import Any

from megamsg.web.api.openapi_operations import body, error, json_response, operation, simulator_operation
from megamsg.web.api.recovery_schemas import MAX_BURST, MAX_REDELIVER
from megamsg.web.api.schema_parts import ref


def recovery_paths() -> dict[str, dict[str, Any]]:
    """Path items by path."""
    return {
        "/api/whatsapp/instance/webhook/redeliver": {
            "post": operation(
                "redeliverWebhooks",
                "Send a range of webhook events again, in order",
                "instance",
                {200: json_response(ref("Redelivered"), "The events queued again, in sequence order.")},
                (400, 409, 413, 422),
                description="After a receiver outage: every event of the instance recorded between `since` and "
                "`until` (default now) that ended with `status` (default `failed`) gets a fresh round of up to 3 "
                "attempts, with the same `webhook-id`, body and `sequence`, queued lowest sequence first. At most "
                f"`limit` ({MAX_REDELIVER} at most) per call; `remaining` says how many more matched: call again "
                "with the same range to send them.",
                request_body=body("RedeliverRequest"),
                error_overrides={409: error("No webhook URL is set.")},
            )
        },
        "/api/simulator/incoming-burst": {
            "post": simulator_operation(
                "simulatorIncomingBurst",
                f"Many incoming text messages from one sender, over time (at most {MAX_BURST})",
                ref("IncomingBurst"),
                (400, 409, 413, 422, 502),
                "IncomingBurstRequest",
            )
        },
    }
