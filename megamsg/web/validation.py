"""Request-body parsing shared by the API endpoints."""

import json

from flask import request

from megamsg.errors import ApiError


def json_object() -> dict:
    """The request body as a JSON object, or a 400/422 error."""
    raw = request.get_data(cache=True)  # raises 413 past the body limit
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiError(400, "Malformed JSON body.") from None
    if not isinstance(body, dict):
        raise ApiError(422, "The body must be a JSON object.")
    try:
        # Valid JSON may still carry unpaired surrogates ("\ud83d"), which no database can store.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400, "The JSON body contains invalid Unicode (an unpaired surrogate escape)."
        ) from None
    return body


def optional_string(body: dict, field: str, max_length: int | None = None) -> str | None:
    """body[field] if it is a string (or absent/null → None), else 422 naming the field."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"{field} must be a string.")
    if max_length is not None and len(value) > max_length:
        raise ApiError(422, f"{field} must be at most {max_length} characters.")
    return value
