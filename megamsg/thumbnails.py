"""Small previews of stored images, made with Pillow on first request and cached beside the media file."""

import io
import os
import secrets
from pathlib import Path

from PIL import Image, UnidentifiedImageError

THUMB_SIZE = 160  # px, the longer side
MAX_PIXELS = 40_000_000  # a larger "image" is refused rather than decoded (decompression bombs)
# Formats decoded for a preview: raster images WhatsApp sends (never SVG, which is a document).
PREVIEW_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
THUMB_MIME = "image/webp"


class NoThumbnail(Exception):
    """The file is not an image a preview can be made of."""


def thumbnail_path(media: Path) -> Path:
    """Where the preview of a media file is cached (the retention purge removes it with the media)."""
    return media.with_name(media.name + ".thumb.webp")


def thumbnail(media: Path) -> Path:
    """The cached preview of media, made now if missing or older than the media; NoThumbnail if impossible."""
    target = thumbnail_path(media)
    try:
        media_mtime = media.stat().st_mtime
        if target.stat().st_mtime >= media_mtime:
            return target
    except FileNotFoundError:
        if not media.exists():
            raise NoThumbnail("the media file is gone") from None
    data = _render(media)
    # A unique temporary name: two requests making the same preview never write into one file.
    partial = target.with_name(f"{target.name}.{secrets.token_hex(4)}.part")
    partial.write_bytes(data)
    os.replace(partial, target)
    return target


def _render(media: Path) -> bytes:
    try:
        with Image.open(media) as image:
            if image.format not in PREVIEW_FORMATS:
                raise NoThumbnail(f"not a previewable image ({image.format})")
            if image.width * image.height > MAX_PIXELS:
                raise NoThumbnail("the image is too large to preview")
            image.draft("RGB", (THUMB_SIZE, THUMB_SIZE))  # JPEG: decode at a reduced scale
            image.thumbnail((THUMB_SIZE, THUMB_SIZE))
            preview = image.convert("RGBA" if _has_alpha(image) else "RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NoThumbnail(f"not a readable image ({type(exc).__name__})") from None
    buffer = io.BytesIO()
    preview.save(buffer, format="WEBP", quality=80)
    return buffer.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
