"""The file name a stored media download is offered under, safe for a Content-Disposition header."""

import re

# Incoming file names come from other WhatsApp users: control characters (CR/LF would make
# werkzeug refuse the header, so the download would fail) and path separators are dropped.
UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\]")


def download_name(file_name: str | None, fallback: str) -> str:
    """file_name without control characters or path separators, or fallback if nothing is left."""
    cleaned = UNSAFE.sub("", file_name or "").strip()
    return cleaned if cleaned.strip(".") else fallback
