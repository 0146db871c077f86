"""send_at: an ISO 8601 time with a UTC offset, in the future, within the schedule horizon."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from megamsg.errors import ApiError

# Date, "T", time: fromisoformat alone would also take "2026-05-02" or a week date.
_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$")


def parse_send_at(value: str) -> datetime:
    """The time send_at names; ValueError (worded to follow the field's name) if it is not one."""
    if not _SHAPE.match(value):
        if re.match(r"^\d{4}-\d{2}-\d{2}T[\d:.]+$", value):
            raise ValueError("must include a UTC offset, e.g. 2026-05-02T09:30:00+02:00 or …Z.")
        raise ValueError(
            "must be an ISO 8601 date and time with a UTC offset, e.g. 2026-05-02T09:30:00+02:00."
        )
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a real date and time (check the day, hour and offset).") from None


def check_send_at(value: str, config: dict[str, Any]) -> datetime:
    """send_at as a time, or ApiError(422) when it is past or beyond the horizon."""
    try:
        when = parse_send_at(value)
    except ValueError as exc:
        raise ApiError(422, f"send_at {exc}") from None
    now = datetime.now(UTC)
    if when <= now:
        raise ApiError(422, "send_at must be in the future (without it, the message is sent now).")
    horizon = int(config["SCHEDULE_HORIZON_DAYS"])
    if when > now + timedelta(days=horizon):
        raise ApiError(422, f"send_at must be at most {horizon} days ahead.")
    return when
