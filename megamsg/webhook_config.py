"""Per-instance webhook URL, signing secret and event selection."""

import json
import secrets
from urllib.parse import urlsplit

import sqlite_utils

EVENT_KINDS = ("message", "status", "session")
MAX_URL_LENGTH = 2048


class WebhookConfigError(ValueError):
    """The webhook setting is invalid (message names the problem)."""


def validate_url(url: str) -> str:
    """Return the URL if it is an absolute http(s) URL, else raise."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookConfigError("url must be an http(s) URL or null.")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookConfigError("url must be an absolute http:// or https:// URL.")
    if len(url) > MAX_URL_LENGTH:
        raise WebhookConfigError(f"url must be at most {MAX_URL_LENGTH} characters.")
    return url


def set_webhook_url(db: sqlite_utils.Database, instance_id: str, url: str | None) -> dict:
    """Set or clear (None) the URL; return {url, secret}."""
    clean = None if url is None else validate_url(url)
    db["instances"].update(instance_id, {"webhook_url": clean})
    db.conn.commit()
    row = db["instances"].get(instance_id)
    return {"url": row["webhook_url"], "secret": row["webhook_secret"]}


def rotate_secret(db: sqlite_utils.Database, instance_id: str) -> str:
    """Issue a new signing secret."""
    secret = "whsec_" + secrets.token_urlsafe(24)
    db["instances"].update(instance_id, {"webhook_secret": secret})
    db.conn.commit()
    return secret


def selected_events(instance: dict) -> list[str]:
    """Event kinds the instance wants (all by default)."""
    if not instance.get("webhook_events"):
        return list(EVENT_KINDS)
    chosen = json.loads(instance["webhook_events"])
    return [kind for kind in EVENT_KINDS if kind in chosen]


def set_selected_events(db: sqlite_utils.Database, instance_id: str, kinds: list[str]) -> list[str]:
    """Store the chosen event kinds (unknown kinds rejected)."""
    unknown = [kind for kind in kinds if kind not in EVENT_KINDS]
    if unknown:
        raise WebhookConfigError(
            f"events: unknown kind(s) {', '.join(unknown)}; use {', '.join(EVENT_KINDS)}."
        )
    db["instances"].update(instance_id, {"webhook_events": json.dumps(sorted(set(kinds)))})
    db.conn.commit()
    return [kind for kind in EVENT_KINDS if kind in kinds]
