"""Turn the send API's ``media`` field (http(s) URL, base64 or data: URL) into checked bytes."""

import base64
import binascii
import codecs
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

import filetype
import requests
from PIL import Image

from megamsg import net_errors, netguard

_CAP_KEYS = {
    "image": "MAX_MEDIA_BYTES",
    "audio": "MAX_MEDIA_BYTES",
    "video": "MAX_MEDIA_BYTES",
    "document": "MAX_DOCUMENT_BYTES",
}
_NOUNS = {"image": "a valid image", "audio": "valid audio", "video": "a valid video"}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_MIME = re.compile(r"[\w.+-]+/[\w.+-]+")
_OCTET_STREAM = "application/octet-stream"
_CHUNK = 64 * 1024
# filetype labels MP4-family files by their brand; the tracks inside tell audio from video.
_ISO_FAMILIES = {"video/mp4": "mp4", "audio/mp4": "mp4", "video/x-m4v": "mp4", "video/3gpp": "3gpp"}


class MediaError(Exception):
    """media could not be used; str(error) is the user-facing message naming the problem."""


@dataclass
class Media:
    """Checked media bytes and what is known about them."""

    data: bytes
    mime_type: str
    size: int
    sha256: str
    file_name: str | None


def load_media(value: str, kind: str, config: dict[str, Any]) -> Media:
    """Decode base64 / data: URL or download an http(s) URL, enforce the size cap for kind, check the bytes are that kind."""
    if kind not in _CAP_KEYS:
        raise ValueError(f"unknown media kind {kind!r}")
    cap = int(config[_CAP_KEYS[kind]])
    value = value.strip() if isinstance(value, str) else ""
    declared = None
    file_name = None
    if value[:8].lower().startswith(("http://", "https://")):
        data = _download(value, cap, config)
        file_name = PurePosixPath(unquote(urlsplit(value).path)).name or None
    elif value[:5].lower() == "data:":
        declared, data = _decode_data_url(value, cap)
    elif _SCHEME.match(value):
        raise MediaError("media must be an http(s) URL or base64 data")
    else:
        data = _decode_base64(value, cap)
    if not data:
        raise MediaError("media is empty")
    if len(data) > cap:
        raise MediaError(f"media is larger than {_human(cap)}")
    mime_type = (declared or _OCTET_STREAM) if kind == "document" else _check_kind(data, kind)
    return Media(data, mime_type, len(data), hashlib.sha256(data).hexdigest(), file_name)


def _download(url: str, cap: int, config: dict[str, Any]) -> bytes:
    """The body at url, at most cap bytes; MediaError naming the reason on any failure."""
    seconds = float(config["MEDIA_DOWNLOAD_SECONDS"])
    with netguard.deadline(seconds) as expired:
        try:
            response = netguard.request(
                "GET",
                url,
                allow_private=bool(config["ALLOW_PRIVATE_URLS"]),
                timeout=float(config["MEDIA_TIMEOUT"]),
                max_redirects=3,
                stream=True,
            )
            with response:
                if not 200 <= response.status_code < 300:
                    raise MediaError(f"the server answered {response.status_code}")
                length = response.headers.get("Content-Length", "")
                if length.isdigit() and int(length) > cap:
                    raise MediaError(f"it is larger than {_human(cap)}")
                data = _read_capped(response, cap)
            if not expired.is_set():  # a cut connection can look like a short, complete answer
                return data
            reason = f"it took longer than {seconds:g} s"
        except (MediaError, netguard.BlockedURL) as error:
            reason = str(error)
        except net_errors.NETWORK_ERRORS as error:
            reason = net_errors.describe(error, float(config["MEDIA_TIMEOUT"]))
        if expired.is_set():
            reason = f"it took longer than {seconds:g} s"
    raise MediaError(f"media could not be downloaded: {reason}")


def _read_capped(response: requests.Response, cap: int) -> bytes:
    """The body, at most cap bytes (Content-Length may be missing or wrong)."""
    body = bytearray()
    for chunk in response.iter_content(_CHUNK):
        body += chunk
        if len(body) > cap:
            raise MediaError(f"it is larger than {_human(cap)}")
    return bytes(body)


def _decode_data_url(value: str, cap: int) -> tuple[str | None, bytes]:
    """The declared MIME type and the bytes of a data: URL."""
    header, comma, payload = value[5:].partition(",")
    if not comma:
        raise MediaError("media is not a valid data: URL")
    params = [part.strip() for part in header.split(";")]
    mime = params[0].lower() if _MIME.fullmatch(params[0]) else None
    if any(part.lower() == "base64" for part in params[1:]):
        return mime, _decode_base64(unquote(payload) if "%" in payload else payload, cap)
    if len(payload) > cap * 3:  # percent-encoding triples a byte at most
        raise MediaError(f"media is larger than {_human(cap)}")
    return mime, unquote_to_bytes(payload)


def _decode_base64(value: str, cap: int) -> bytes:
    """Decode standard or URL-safe base64, ignoring whitespace and tolerating missing padding."""
    text = "".join(value.split())
    # Refuse before decoding: every 4 characters make 3 bytes.
    if (len(text) - 2) * 3 // 4 > cap:
        raise MediaError(f"media is larger than {_human(cap)}")
    if ("-" in text or "_" in text) and ("+" in text or "/" in text):
        raise MediaError("media is not valid base64")
    text = text.replace("-", "+").replace("_", "/")
    unpadded = text.rstrip("=")
    if len(unpadded) % 4 == 1 or len(text) - len(unpadded) > 2:
        raise MediaError("media is not valid base64")
    try:
        return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise MediaError("media is not valid base64") from None


def _check_kind(data: bytes, kind: str) -> str:
    """The sniffed MIME type of data, or MediaError if the bytes are not that kind."""
    mime = _sniff(data)
    if mime is None or not mime.startswith(f"{kind}/"):
        raise MediaError(f"media is not {_NOUNS[kind]} (detected: {mime or _describe(data)})")
    if kind == "image":
        # The WhatsApp driver hands images to Pillow, so an image Pillow cannot read is useless.
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
        except Exception:
            raise MediaError(f"media is not {_NOUNS[kind]} (detected: {mime}, but unreadable)") from None
    return mime


def _sniff(data: bytes) -> str | None:
    """The MIME type the bytes' signature says, telling audio-only MP4/3GP apart from video."""
    guess = filetype.guess(data)
    if guess is None:
        return None
    family = _ISO_FAMILIES.get(guess.mime)
    if family:
        handlers = _track_handlers(data)
        if b"vide" in handlers:
            return f"video/{family}"
        if b"soun" in handlers:
            return f"audio/{family}"
    return guess.mime


def _track_handlers(data: bytes) -> set[bytes]:
    """Handler types of an ISO-BMFF file's tracks (b"vide", b"soun", ...), read from its hdlr boxes."""
    # A plain search: a stray "hdlr" in the sample data followed by a handler name is vanishingly rare.
    handlers = set()
    position = data.find(b"hdlr")
    while position != -1:
        # box type, then 4 bytes version/flags and 4 bytes pre_defined, then the handler type
        handlers.add(data[position + 12 : position + 16])
        position = data.find(b"hdlr", position + 4)
    return handlers


def _describe(data: bytes) -> str:
    """A label for bytes filetype does not know: text or unknown."""
    sample = data[:4096]
    try:
        # final=False: the sample may end in the middle of a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "unknown data"
    return "unknown data" if b"\x00" in sample else "text"


def _human(size: int) -> str:
    """A byte count as people write it: 16 MB, 64 KB, 100 bytes."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"
