"""A logged-in user's access to the stored media of their instances' messages: download, inline image, thumbnail."""

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_file
from flask.typing import ResponseReturnValue

from megamsg.delivery.events import media_path
from megamsg.store import message_log
from megamsg.thumbnails import THUMB_MIME, NoThumbnail, thumbnail
from megamsg.web.dashboard.pages import login_required, own_instance_or_404
from megamsg.web.db import get_db
from megamsg.web.download_name import download_name

# Registered inside messages.bp, under /instances/<instance_id>/messages.
bp = Blueprint("messages_media", __name__, url_prefix="/<message_id>")

# Shown in the page itself only when the browser can draw it and it cannot run script (so never SVG or HTML).
INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}
PREVIEW_TYPES = INLINE_TYPES


def stored_media(instance_id: str, message_id: str) -> tuple[dict, Path]:
    """The message and its media file, found as the API finds it (by the message row), or 404."""
    own_instance_or_404(instance_id)
    row = message_log.get_message(get_db(), instance_id, message_id)
    if row is None or not row["media_path"]:
        abort(404)
    path = Path(row["media_path"])
    # Only ever the file the events job stored for this very message under this instance.
    if path.resolve() != media_path(current_app.config, instance_id, row["id"]).resolve():
        abort(404)
    if not path.is_file():
        abort(404, description="That media is no longer kept (its retention period passed).")
    return row, path


def has_preview(row: dict) -> bool:
    """Whether a thumbnail is worth asking for (images and stickers in a raster format)."""
    return bool(row.get("media_path")) and (row.get("mime_type") or "") in PREVIEW_TYPES


def _guarded(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, stored content gets no script and no network, whatever it claims to be.
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/media")
@login_required
def download(instance_id: str, message_id: str) -> ResponseReturnValue:
    """The stored file as an attachment."""
    row, path = stored_media(instance_id, message_id)
    return _guarded(
        send_file(
            path,
            mimetype=row["mime_type"] or "application/octet-stream",
            as_attachment=True,
            download_name=download_name(row["file_name"], row["id"]),
            conditional=True,
        )
    )


@bp.get("/media/view")
@login_required
def view(instance_id: str, message_id: str) -> ResponseReturnValue:
    """A stored image shown in the browser; anything else is downloaded instead."""
    row, path = stored_media(instance_id, message_id)
    mime = row["mime_type"] or "application/octet-stream"
    inline = mime in INLINE_TYPES
    return _guarded(
        send_file(
            path,
            mimetype=mime,
            as_attachment=not inline,
            download_name=download_name(row["file_name"], row["id"]),
            conditional=True,
        )
    )


@bp.get("/thumbnail")
@login_required
def thumb(instance_id: str, message_id: str) -> ResponseReturnValue:
    """A preview of at most 160 px of an image or sticker (WebP, made once and cached)."""
    row, path = stored_media(instance_id, message_id)
    if not has_preview(row):
        abort(404)
    try:
        preview = thumbnail(path)
    except NoThumbnail as exc:
        abort(404, description=f"No preview: {exc}.")
    response = send_file(preview, mimetype=THUMB_MIME, conditional=True)
    response.headers["Content-Disposition"] = "inline"
    return _guarded(response)
