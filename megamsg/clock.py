"""Timestamps as MegaMsg stores them: ISO 8601, UTC, whole seconds."""

from datetime import UTC, datetime, timedelta


def now_iso() -> str:
    """Current UTC time as ISO 8601 with offset."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def iso_ago(seconds: float) -> str:
    """The UTC time `seconds` ago, in the same form as now_iso (so the two compare as strings)."""
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="seconds")


def unix_now() -> int:
    """Current Unix time in whole seconds."""
    return int(datetime.now(UTC).timestamp())
