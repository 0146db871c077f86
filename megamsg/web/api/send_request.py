"""Validation of the send endpoint's JSON body (every failure names its field)."""

from dataclasses import dataclass
from typing import Any

from megamsg.errors import ApiError
from megamsg.phone import PhoneError, normalise_phone

TYPES = ("text", "image", "audio", "video", "document")
MEDIA_TYPES = TYPES[1:]
MAX_TEXT = 65536  # WhatsApp's limit for a text message
MAX_CAPTION = 1024
MAX_FILE_NAME = 255
MAX_MIME = 255
# Accepted but meaningless for the type (so listed back as ignored): WhatsApp has no caption on
# audio, and takes the kind of image, audio and video from the bytes themselves.
NOT_APPLICABLE = {
    "image": ("mime_type", "file_name"),
    "audio": ("caption", "mime_type", "file_name"),
    "video": ("mime_type", "file_name"),
    "document": (),
}
KNOWN_FIELDS = {"phone_number", "type", "text", "media", "caption", "mime_type", "file_name", "ptt", "async"}


@dataclass
class SendRequest:
    """A validated send request (media not yet loaded)."""

    to: str
    type: str
    text: str | None
    media: str | None
    caption: str | None
    mime_type: str | None
    file_name: str | None
    ptt: bool
    is_async: bool
    ignored_fields: list[str]


def _string(body: dict, field: str, max_length: int, required: bool = False, why: str = "") -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise ApiError(422, f"{field} is required{why}.")
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"{field} must be a string.")
    if required and not value.strip():
        raise ApiError(422, f"{field} must not be empty.")
    if len(value) > max_length:
        raise ApiError(422, f"{field} must be at most {max_length} characters.")
    return value


def _boolean(body: dict, field: str) -> bool | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ApiError(422, f"{field} must be a boolean (true or false).")
    return value


def validate_send(body: dict[str, Any]) -> SendRequest:
    """Check the body against the contract; raise ApiError(422) naming the first bad field."""
    raw_phone = body.get("phone_number")
    if raw_phone is not None and not isinstance(raw_phone, str):
        raise ApiError(422, "phone_number must be a string.")
    try:
        to = normalise_phone(raw_phone)
    except PhoneError as exc:
        raise ApiError(422, f"phone_number {exc}") from None

    kind = body.get("type", "text")
    if kind is None:
        kind = "text"
    if not isinstance(kind, str) or kind not in TYPES:
        raise ApiError(422, f"type must be one of: {', '.join(TYPES)}.")

    text = caption = media = mime_type = file_name = None
    ignored = set(body) - KNOWN_FIELDS
    if kind == "text":
        text = _string(body, "text", MAX_TEXT, required=True, why=" when type is text")
        for field in ("media", "caption", "mime_type", "file_name"):
            if body.get(field) is not None:
                raise ApiError(422, f"{field} is only allowed for media types ({', '.join(MEDIA_TYPES)}).")
    else:
        media = _string(
            body, "media", 2**31, required=True, why=f" when type is {kind}: an http(s) URL or base64"
        )
        caption = _string(body, "caption", MAX_CAPTION)
        if body.get("text") is not None:
            raise ApiError(422, f"text is only for type text; use caption for {kind}.")
        required_doc = kind == "document"
        mime_type = _string(body, "mime_type", MAX_MIME, required=required_doc, why=" for documents")
        file_name = _string(body, "file_name", MAX_FILE_NAME, required=required_doc, why=" for documents")
        if mime_type is not None and "/" not in mime_type:
            raise ApiError(422, "mime_type must look like type/subtype, e.g. application/pdf.")
        if file_name is not None and ("/" in file_name or "\\" in file_name or "\x00" in file_name):
            raise ApiError(422, "file_name must be a plain file name without slashes.")
        ignored |= {field for field in NOT_APPLICABLE[kind] if body.get(field) is not None}
        caption = None if "caption" in NOT_APPLICABLE[kind] else caption
        if kind != "document":
            mime_type = file_name = None

    ptt = _boolean(body, "ptt")
    if ptt is not None and kind != "audio":
        raise ApiError(422, "ptt is only allowed when type is audio.")
    is_async = _boolean(body, "async") or False
    return SendRequest(
        to=to,
        type=kind,
        text=text,
        media=media,
        caption=caption,
        mime_type=mime_type,
        file_name=file_name,
        ptt=bool(ptt),
        is_async=is_async,
        ignored_fields=sorted(ignored),
    )
