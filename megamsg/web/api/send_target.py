"""Who a send goes to: exactly one of phone_number and group_id."""

from typing import Any

from megamsg.errors import ApiError
from megamsg.phone import PhoneError, normalise_phone


def check_target(body: dict[str, Any]) -> None:
    """422 unless the body names exactly one recipient (their values are checked by the schema)."""
    has_phone = body.get("phone_number") is not None
    has_group = body.get("group_id") is not None
    if has_phone and has_group:
        raise ApiError(422, "group_id cannot be given with phone_number: send to a number or to a group.")
    if not has_phone and not has_group:
        try:
            normalise_phone(None)
        except PhoneError as exc:
            # The contract's message, unchanged: group_id is an extension.
            raise ApiError(422, f"phone_number {exc}") from None


def recipient(body: dict[str, Any]) -> str:
    """The normalised phone number, or the group id."""
    if body.get("group_id") is not None:
        return str(body["group_id"])
    return normalise_phone(body["phone_number"])
