"""The provisioning API in the OpenAPI document: its security scheme, operations and answers."""

from megamsg.session_state import STATUSES
from megamsg.store.api_keys import PREFIX, READ, WRITE
from megamsg.web.api.openapi_operations import ERROR_DESCRIPTIONS, body, error, json_response, operation
from megamsg.web.api.request_schemas import ACCOUNT_LIST_QUERY, MAX_LIMIT, query_parameters
from megamsg.web.api.response_schemas import NULLABLE_STRING
from megamsg.web.api.schema_parts import nullable, obj, ok, ref, string

TAG = "account"
SCHEME = "accountKey"
TAG_DESCRIPTION = (
    "Provisioning: create, list, rotate and delete instances from code with an account API key "
    f"(`Authorization: Bearer {PREFIX}…`, no X-Instance-Id), made under Account → API keys in the dashboard. "
    "A key acts for its user only (an admin's key: every instance). Linking stays on the instance API "
    "with the instance's own token."
)
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": f"An account API key ({PREFIX}…), with the scopes {READ} and/or {WRITE}.",
}
INSTANCE_ID = {
    "name": "instance_id",
    "in": "path",
    "required": True,
    "schema": string(minLength=1),
    "description": "The instance's id.",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the limit resets.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


def schemas() -> dict[str, dict]:
    """The provisioning API's answers, by component name."""
    summary = {
        "instance_id": string(minLength=1),
        "name": string(minLength=1),
        "status": {"enum": list(STATUSES)},
        "phone_number": nullable(string("The linked WhatsApp number.")),
        "push_name": NULLABLE_STRING,
        "webhook_url": NULLABLE_STRING,
        "created_at": string("ISO 8601 time (UTC).", format="date-time"),
    }
    token = string(
        "The instance's 64-character API token: shown in this answer only.",
        pattern="^[0-9a-f]{64}$",
        examples=["3f9a" * 16],
    )
    return {
        "InstanceSummary": obj(summary),
        "AccountInstance": ok(summary),
        "CreatedInstance": ok(
            {
                **summary,
                "token": token,
                "warning": string("Set only when the webhook URL's host does not resolve now.", minLength=1),
            },
            [*summary, "token"],
        ),
        "AccountInstancePage": ok(
            {
                "instances": {
                    "type": "array",
                    "items": ref("InstanceSummary"),
                    "maxItems": MAX_LIMIT,
                },
                "next_before": {
                    "type": ["integer", "null"],
                    "minimum": 1,
                    "description": "Pass as ?before= for the next page; null on the last one.",
                },
            }
        ),
        "RotatedToken": ok({"instance_id": string(minLength=1), "token": token}),
        "DeletedInstance": ok({"instance_id": string(minLength=1)}),
    }


def _account_operation(
    operation_id: str, summary: str, scope: str, success: dict, errors: tuple, **extra
) -> dict:
    result = operation(
        operation_id,
        summary,
        TAG,
        success,
        (*errors, 401, 403, 429),
        auth=False,
        error_overrides={
            401: error(ERROR_DESCRIPTIONS[401]),
            403: error(f"The key does not have the {scope} scope."),
            404: error("No instance with that id among those the key may see."),
            429: json_response(
                ref("Error"),
                "Rate limit exceeded for this API key; retry after Retry-After seconds.",
                RETRY_AFTER,
            ),
        },
        **extra,
    )
    result["security"] = [{SCHEME: []}]
    result["description"] = (f"{extra.get('description', '')} Needs the {scope} scope.").strip()
    return result


def paths() -> dict[str, dict]:
    """The /api/account/ operations."""
    return {
        "/api/account/instances": {
            "post": _account_operation(
                "createInstance",
                "Create an instance (its token is in this answer only)",
                WRITE,
                {
                    201: json_response(
                        ref("CreatedInstance"), "Created; link it with GET /api/whatsapp/instance/qr."
                    )
                },
                (400, 413, 422),
                request_body=body("CreateInstanceRequest"),
            ),
            "get": _account_operation(
                "listInstances",
                "List instances, newest first",
                READ,
                {200: json_response(ref("AccountInstancePage"), "A page of instances.")},
                (422,),
                parameters=query_parameters(ACCOUNT_LIST_QUERY),
            ),
        },
        "/api/account/instances/{instance_id}": {
            "get": _account_operation(
                "getAccountInstance",
                "One instance and its live status",
                READ,
                {200: json_response(ref("AccountInstance"), "The instance.")},
                (404,),
                parameters=[INSTANCE_ID],
            ),
            "delete": _account_operation(
                "deleteInstance",
                "Delete an instance: its WhatsApp session is logged out and its data removed",
                WRITE,
                {200: json_response(ref("DeletedInstance"), "Deleted.")},
                (404,),
                parameters=[INSTANCE_ID],
            ),
        },
        "/api/account/instances/{instance_id}/rotate-token": {
            "post": _account_operation(
                "rotateInstanceToken",
                "Issue a new token (the old one stops working at once)",
                WRITE,
                {200: json_response(ref("RotatedToken"), "The new token, in this answer only.")},
                (404,),
                parameters=[INSTANCE_ID],
            )
        },
    }
