"""Builders for the OpenAPI document's operations: bodies, responses, the shared errors."""

from typing import Any

from megamsg.web.api.schema_parts import ref

JSON = "application/json"
ERROR_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "Missing or invalid credentials (always the same body, whatever was wrong).",
    404: "Not found.",
    409: "Conflict with the session's current state.",
    413: "The request body is larger than the server accepts.",
    422: "A required field is missing or a value is invalid; the message names the field.",
    429: "Rate limit exceeded for this instance; retry after Retry-After seconds.",
    500: "Internal error (no details are given).",
    502: "The WhatsApp session is disconnected, not paired, not running, or did not answer.",
}
SIMULATOR_NOTE = (
    "Simulator control: this endpoint only exists when the server runs with "
    "MEGAMSG_WHATSAPP_DRIVER=simulator and answers 404 otherwise."
)


def json_response(schema: dict, description: str, headers: dict | None = None) -> dict:
    """A JSON response."""
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def error(description: str) -> dict:
    """An error response, with its own description."""
    return json_response(ref("Error"), description)


def body(component: str) -> dict:
    """A required JSON request body described by a component schema."""
    return {"required": True, "content": {JSON: {"schema": ref(component)}}}


def operation(
    operation_id: str,
    summary: str,
    tag: str,
    success: dict[int, dict],
    errors: tuple[int, ...],
    *,
    description: str = "",
    request_body: dict | None = None,
    parameters: list[dict] | None = None,
    error_overrides: dict[int, dict] | None = None,
    auth: bool = True,
) -> dict:
    """One operation; authenticated ones get the security, X-Instance-Id and 401 automatically."""
    result: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if description:
        result["description"] = description
    params = list(parameters or [])
    statuses = set(errors) | {500}
    if auth:
        result["security"] = [{"bearerAuth": []}]
        params.insert(0, {"$ref": "#/components/parameters/InstanceId"})
        statuses.add(401)
    else:
        result["security"] = []
    if params:
        result["parameters"] = params
    if request_body is not None:
        result["requestBody"] = request_body
    responses: dict[str, dict] = {str(status): response for status, response in success.items()}
    for status in sorted(statuses):
        responses[str(status)] = (error_overrides or {}).get(status) or error(ERROR_DESCRIPTIONS[status])
    result["responses"] = dict(sorted(responses.items()))
    return result


def simulator_operation(
    operation_id: str, summary: str, success: dict, errors: tuple[int, ...], component: str | None = None
) -> dict:
    """A simulator control operation (404 unless the server runs the simulator driver)."""
    return operation(
        operation_id,
        summary,
        "simulator",
        {200: json_response(success, "Done.")},
        (*errors, 404),
        description=SIMULATOR_NOTE,
        request_body=None if component is None else body(component),
        error_overrides={404: error("The server does not run the simulator driver.")},
    )
