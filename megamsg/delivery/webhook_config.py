"""Per-instance webhook URL, signing secret and event selection."""

import json
from urllib.parse import urlsplit

import sqlite_utils

from megamsg.signing import new_secret

EVENT_KINDS = ("message", "status", "session")
MAX_URL_LENGTH = 2048


class WebhookConfigError(ValueError):
    """The webhook setting is invalid (message names the problem)."""


def validate_url(url: str) -> str:
    """Return the URL if it is an absolute http(s) URL, else raise."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookConfigError("url must be an http(s) URL or null.")
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise WebhookConfigError("url is not a valid URL (check the host and port).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookConfigError("url must be an absolute http:// or https:// URL.")
    if len(url) > MAX_URL_LENGTH:
        raise WebhookConfigError(f"url must be at most {MAX_URL_LENGTH} characters.")
    return url


def check_destination(url: str | None, allow_private: bool) -> str | None:
    """Refuse a URL that deliveries would refuse; a warning (not an error) if its host does not resolve now."""
    if url is None:
        return None
    # Here, not at the top: the publishers of events (the supervisor) never load requests for nothing.
    from megamsg import netguard

    url = validate_url(url)
    try:
        netguard.check_url(url, allow_private)
    except netguard.UnresolvableHost:
        return "Its host name does not resolve now: deliveries will fail until it does."
    except netguard.BlockedURL as exc:
        hint = ""
        if not allow_private and _allowed_with_private(url):
            hint = " Set MEGAMSG_ALLOW_PRIVATE_URLS=1 to allow a receiver on a private network."
        raise WebhookConfigError(f"url is refused: {exc}.{hint}") from None
    return None


def _allowed_with_private(url: str) -> bool:
    from megamsg import netguard

    try:
        netguard.check_url(url, allow_private=True)
    except netguard.BlockedURL:
        return False
    return True


def set_webhook_url(db: sqlite_utils.Database, instance_id: str, url: str | None) -> dict:
    """Set or clear (None) the URL; return {url, secret}."""
    clean = None if url is None else validate_url(url)
    db.table("instances").update(instance_id, {"webhook_url": clean})
    row = db.table("instances").get(instance_id)
    return {"url": row["webhook_url"], "secret": row["webhook_secret"]}


def rotate_secret(db: sqlite_utils.Database, instance_id: str) -> str:
    """Issue a new signing secret."""
    secret = new_secret()
    db.table("instances").update(instance_id, {"webhook_secret": secret})
    return secret


def validate_events(kinds: object) -> list[str]:
    """The kinds if they are a list of known event kinds, else raise (message names the field)."""
    if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
        raise WebhookConfigError(f"events must be a list of event kinds ({', '.join(EVENT_KINDS)}).")
    unknown = [kind for kind in kinds if kind not in EVENT_KINDS]
    if unknown:
        raise WebhookConfigError(
            f"events: unknown kind(s) {', '.join(unknown)}; use {', '.join(EVENT_KINDS)}."
        )
    return [kind for kind in EVENT_KINDS if kind in kinds]


def webhook_settings(instance: dict) -> dict:
    """The instance's webhook settings as the API shows them: {url, secret, events}."""
    return {
        "url": instance["webhook_url"],
        "secret": instance["webhook_secret"],
        "events": selected_events(instance),
    }


def set_webhook(
    db: sqlite_utils.Database, instance_id: str, url: str | None, events: object | None = None
) -> dict:
    """Validate, then store URL (None clears) and, if given, the event kinds; return the settings."""
    changes: dict = {"webhook_url": None if url is None else validate_url(url)}
    if events is not None:
        changes["webhook_events"] = json.dumps(validate_events(events))
    row = db.table("instances").get(instance_id)
    if not row["webhook_secret"]:
        changes["webhook_secret"] = new_secret()
    db.table("instances").update(instance_id, changes)
    return webhook_settings(db.table("instances").get(instance_id))


def selected_events(instance: dict) -> list[str]:
    """Event kinds the instance wants (all by default)."""
    if not instance.get("webhook_events"):
        return list(EVENT_KINDS)
    chosen = json.loads(instance["webhook_events"])
    return [kind for kind in EVENT_KINDS if kind in chosen]


def set_selected_events(db: sqlite_utils.Database, instance_id: str, kinds: list[str]) -> list[str]:
    """Store the chosen event kinds (unknown kinds rejected)."""
    chosen = validate_events(kinds)
    db.table("instances").update(instance_id, {"webhook_events": json.dumps(chosen)})
    return chosen
