"""Dashboard: an instance's message log (filters, cursor pages, live updates) and one message in detail."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, get_template_attribute, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue

from megamsg.store import message_log, message_search
from megamsg.store.message_details import public_details
from megamsg.web.dashboard import messages_media
from megamsg.web.dashboard.message_filters import (
    CURSOR_KEYS,
    DIRECTIONS,
    STATUSES,
    TYPES,
    Query,
    parse_query,
)
from megamsg.web.dashboard.messages_media import has_preview
from megamsg.web.dashboard.pages import login_required, own_instance_or_404
from megamsg.web.db import get_db

bp = Blueprint("messages_ui", __name__, url_prefix="/instances/<instance_id>/messages")
bp.register_blueprint(messages_media.bp)

PAGE_SIZE = 50
LIVE_BATCH = 50  # new rows per poll; the next poll fetches the rest
MAX_WATCHED = 100  # visible messages whose status a poll reports


def _decorate(rows: list[dict]) -> list[dict]:
    """Add what the row template needs beyond the stored columns."""
    for row in rows:
        row["media_kept"] = bool(row["media_path"]) and Path(row["media_path"]).is_file()
        row["preview"] = row["media_kept"] and has_preview(row)
        row["version"] = row_version(row)
    return rows


def _list_args(query: Query) -> dict[str, str]:
    """The list's filters and cursor, for links that come back to the same list."""
    args = query.filter_args()
    args.update({key: query.raw[key] for key in CURSOR_KEYS if query.raw.get(key)})
    return args


def _render_list(
    instance: dict, query: Query, page: message_search.Page | None, status: int
) -> ResponseReturnValue:
    live = page is not None and query.before is None and not page.has_newer
    return (
        render_template(
            "messages.html",
            instance=instance,
            query=query,
            page=page,
            live=live,
            latest=max((row["seq"] for row in page.rows), default=0) if page else 0,
            list_args=_list_args(query),
            directions=DIRECTIONS,
            statuses=STATUSES,
            types=TYPES,
        ),
        status,
    )


@bp.get("")
@login_required
def message_list(instance_id: str) -> ResponseReturnValue:
    """The instance's messages, newest first, filtered by the query string."""
    instance = own_instance_or_404(instance_id)
    query = parse_query(request.args)
    if query.errors:
        # Nothing listed: an unfiltered table under a rejected filter would look like its result.
        return _render_list(instance, query, None, 400)
    page = message_search.search_page(
        get_db(), instance_id, query.filters, PAGE_SIZE, before=query.before, after=query.after
    )
    _decorate(page.rows)
    return _render_list(instance, query, page, 200)


@bp.get("/live")
@login_required
def live(instance_id: str) -> ResponseReturnValue:
    """For static/messages.js: rows newer than ?after= that match the filters, and the status of ?id=… messages."""
    instance = own_instance_or_404(instance_id)
    after = request.args.get("after", "")
    query = parse_query({key: value for key, value in request.args.items() if key not in CURSOR_KEYS})
    if not (after.isascii() and after.isdigit() and len(after) <= 18):
        query.errors.append("after must be the position of the newest message shown (0 for none).")
    if query.errors:
        return jsonify({"ok": False, "message": " ".join(query.errors)}), 400
    db = get_db()
    rows = _decorate(message_search.newer_than(db, instance_id, query.filters, int(after), LIVE_BATCH))
    # What the page shows of each visible row (status, media kept): only rows that changed come back.
    shown = dict(zip(request.args.getlist("id"), request.args.getlist("v"), strict=False))
    watched = _decorate(message_search.by_ids(db, instance_id, list(shown)[:MAX_WATCHED]))
    message_row = get_template_attribute("messages_macros.html", "message_row")
    list_args = query.filter_args()

    def rendered(row: dict) -> dict:
        return {"id": row["id"], "seq": row["seq"], "html": str(message_row(instance, row, list_args))}

    answer = {
        "ok": True,
        "rows": [rendered(row) for row in rows],
        "changed": [rendered(row) for row in watched if shown[row["id"]] != row_version(row)],
    }
    return jsonify(answer), 200, {"Cache-Control": "no-store"}


def row_version(row: dict) -> str:
    """What a live page compares to know a row changed: its status, and whether its media has arrived."""
    return f"{row['status']}/{'media' if row['media_kept'] else ''}"


@bp.get("/<message_id>")
@login_required
def detail(instance_id: str, message_id: str) -> ResponseReturnValue:
    """One message: every field, its status history and the webhook deliveries about it."""
    instance = own_instance_or_404(instance_id)
    db = get_db()
    row = message_log.get_message(db, instance_id, message_id)
    if row is None:
        abort(404)
    _decorate([row])
    query = parse_query(request.args)
    back_args: dict[str, Any] = {} if query.errors else dict(_list_args(query))
    back = url_for("messages_ui.message_list", instance_id=instance_id, **back_args)
    return render_template(
        "message_detail.html",
        instance=instance,
        message=row,
        history=message_log.history(db, row["id"]),
        events=message_search.message_events(db, row),
        back=back,
        wa_time=_unix_iso(row["wa_timestamp"]),
        details=public_details(row),
    )


def _unix_iso(value: int | None) -> str | None:
    """WhatsApp's own timestamp (seconds, or milliseconds from some clients) as ISO 8601 UTC."""
    if not value:
        return None
    seconds = value / 1000 if value > 10**11 else value
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
