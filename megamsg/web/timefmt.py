"""Jinja filters for times: `isotime` (ISO 8601 with offset) and `timetag` (a <time> that time.js makes relative)."""

from datetime import UTC, datetime

from flask import Flask
from markupsafe import Markup


def parse_time(value: object) -> datetime | None:
    """A stored time (ISO 8601 or SQLite "YYYY-MM-DD HH:MM:SS" text, naive means UTC; or Unix seconds) in UTC."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def isotime(value: object) -> str:
    """ISO 8601 with +00:00 for a <time datetime>; unparseable text comes back unchanged, None as ""."""
    moment = parse_time(value)
    if moment is None:
        return "" if value is None else str(value)
    return moment.isoformat(timespec="seconds")


def exact_time(value: object) -> str:
    """The exact time as people read it: "2026-12-01 08:40:00 UTC"."""
    moment = parse_time(value)
    if moment is None:
        return "" if value is None else str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def timetag(value: object) -> Markup:
    """<time datetime=… data-relative>exact time</time>; static/time.js shows it as "3 min ago"."""
    if parse_time(value) is None:
        return Markup("{}").format("" if value is None else value)
    return Markup('<time datetime="{}" data-relative>{}</time>').format(isotime(value), exact_time(value))


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(isotime, "isotime")
    app.add_template_filter(timetag, "timetag")
    app.add_template_filter(exact_time, "exacttime")
