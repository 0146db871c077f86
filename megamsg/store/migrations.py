"""Versioned schema migrations, applied idempotently in order."""

from collections.abc import Callable

import sqlite_utils


def _m001_initial(db: sqlite_utils.Database) -> None:
    db.table("users").create(
        {
            "id": int,
            "email": str,
            "password_hash": str,
            "is_admin": int,
            "created_at": str,
        },
        pk="id",
        not_null={"email", "password_hash"},
        defaults={"is_admin": 0},
    )
    db.table("users").create_index(["email"], unique=True)
    db.table("instances").create(
        {
            "id": str,
            "owner_id": int,
            "name": str,
            "token_hash": str,
            "token_rotated_at": str,
            "webhook_url": str,
            "webhook_secret": str,
            "webhook_events": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("owner_id", "users", "id")],
        not_null={"owner_id", "name", "token_hash"},
    )
    db.table("instances").create_index(["owner_id"])
    db.table("settings").create({"key": str, "value": str}, pk="key")


def _m002_messages(db: sqlite_utils.Database) -> None:
    db.table("messages").create(
        {
            "id": str,
            "instance_id": str,
            "direction": str,  # "out" | "in"
            "wa_id": str,
            "peer": str,  # the other party, E.164 with "+"
            "chat": str,
            "type": str,
            "text": str,
            "caption": str,
            "mime_type": str,
            "file_name": str,
            "ptt": int,
            "media_size": int,
            "media_sha256": str,
            "media_path": str,
            "push_name": str,
            "is_group": int,
            "status": str,
            "error": str,
            "wa_timestamp": int,
            "created_at": str,
            "updated_at": str,
            "seq": int,
        },
        pk="id",
    )
    db.table("messages").create_index(["instance_id", "seq"])
    db.table("messages").create_index(["instance_id", "wa_id"])
    db.table("message_status").create(
        {"id": int, "message_id": str, "status": str, "error": str, "at": str},
        pk="id",
    )
    db.table("message_status").create_index(["message_id"])
    db.table("idempotency_keys").create(
        {
            "instance_id": str,
            "key": str,
            "request_hash": str,
            "message_id": str,
            "status_code": int,
            "response": str,
            "created_at": str,
        },
        pk=("instance_id", "key"),
    )


def _m003_webhooks(db: sqlite_utils.Database) -> None:
    db.table("webhook_events").create(
        {
            "id": str,  # webhook-id, stable across attempts
            "instance_id": str,
            "kind": str,  # message | status | session | test
            "payload": str,
            "status": str,  # pending | delivering | delivered | failed | stopped | skipped
            "attempts": int,
            "last_status_code": int,
            "last_error": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
    )
    db.table("webhook_events").create_index(["instance_id", "created_at"])
    db.table("webhook_deliveries").create(
        {
            "id": int,
            "event_id": str,
            "attempt": int,
            "url": str,
            "status_code": int,
            "error": str,
            "duration_ms": int,
            "response_excerpt": str,
            "at": str,
        },
        pk="id",
    )
    db.table("webhook_deliveries").create_index(["event_id"])


def _m004_unique_constraints(db: sqlite_utils.Database) -> None:
    # Concurrent writers (web and events worker) must not record a status twice,
    # share a cursor position, or store one incoming message twice.
    db.execute(
        "DELETE FROM message_status WHERE id NOT IN (SELECT min(id) FROM message_status GROUP BY message_id, status)"
    )
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS message_status_once ON message_status (message_id, status)")
    db.execute("DROP INDEX IF EXISTS idx_messages_instance_id_seq")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS messages_seq ON messages (instance_id, seq)")
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS messages_incoming_once ON messages (instance_id, wa_id) WHERE direction = 'in'"
    )


def _m005_dashboard_sessions(db: sqlite_utils.Database) -> None:
    # Logging out, a password change or "log out everywhere" delete rows here; a cookie whose row
    # is gone opens nothing. The id is the SHA-256 of the session id the browser holds.
    db.table("dashboard_sessions").create(
        {"id": str, "user_id": int, "created_at": str, "last_seen_at": str, "address": str},
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"user_id", "created_at", "last_seen_at"},
    )
    db.table("dashboard_sessions").create_index(["user_id"])


def _m006_user_status(db: sqlite_utils.Database) -> None:
    # A disabled user keeps their row (and their instances keep running); they just cannot log in.
    db.table("users").add_column("disabled_at", str)
    db.table("users").add_column("last_login_at", str)


def _m007_delivery_control(db: sqlite_utils.Database) -> None:
    # Pacing per instance (NULL: the configured default) and scheduled sends; the schedule lives
    # here, not only in Redis, so it survives a restart or loss of Redis.
    db.table("instances").add_column("min_interval_ms", int)
    db.table("instances").add_column("jitter_ms", int)
    db.table("messages").add_column("send_at", str)  # when a scheduled message is to leave
    db.table("messages").add_column("due_at", str)  # when it is due to leave: send_at, or its paced turn
    db.execute(
        "CREATE INDEX IF NOT EXISTS messages_scheduled ON messages (send_at) WHERE status = 'scheduled'"
    )


def _m008_account_keys(db: sqlite_utils.Database) -> None:
    # Account API keys (only the SHA-256 of a key is kept) and the audit log of the calls made with them.
    db.table("api_keys").create(
        {
            "id": int,
            "user_id": int,
            "name": str,
            "prefix": str,  # the key's first characters, to tell keys apart on screen
            "key_hash": str,
            "scopes": str,  # space-separated, e.g. "instances:read instances:write"
            "created_at": str,
            "last_used_at": str,
            "last_used_address": str,
            "revoked_at": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"user_id", "name", "prefix", "key_hash", "scopes", "created_at"},
    )
    db.table("api_keys").create_index(["key_hash"], unique=True)
    db.table("api_keys").create_index(["user_id"])
    # No foreign keys to instances: an entry outlives the instance it is about.
    db.table("audit_log").create(
        {
            "id": int,
            "api_key_id": int,
            "user_id": int,  # whose key made the call
            "owner_id": int,  # the owner of the instance it was about, when there was one
            "action": str,
            "method": str,
            "path": str,
            "instance_id": str,
            "status": int,
            "address": str,
            "at": str,
        },
        pk="id",
        foreign_keys=[("api_key_id", "api_keys", "id"), ("user_id", "users", "id")],
        not_null={"api_key_id", "user_id", "action", "method", "path", "status", "at"},
    )
    db.table("audit_log").create_index(["user_id", "id"])
    db.table("audit_log").create_index(["owner_id", "id"])


def _m009_message_details(db: sqlite_utils.Database) -> None:
    # What a message carries beyond text and media, as JSON: the message it replies to, a location,
    # a reaction, or the message an edit or a deletion is about.
    db.table("messages").add_column("details", str)


def _m010_webhook_sequence(db: sqlite_utils.Database) -> None:
    # A per-instance sequence on every webhook event, so receivers can restore the order that
    # retries shuffle. Existing events are numbered in the order they were recorded, and their
    # stored bodies (sent as they are on every attempt) gain the same number.
    db.table("webhook_events").add_column("sequence", int)
    db.execute(
        "UPDATE webhook_events SET sequence = (SELECT n FROM (SELECT id, ROW_NUMBER() OVER"
        " (PARTITION BY instance_id ORDER BY created_at, rowid) AS n FROM webhook_events) AS ranked"
        " WHERE ranked.id = webhook_events.id)"
    )
    db.execute(
        "UPDATE webhook_events SET payload = json_set(payload, '$.sequence', sequence) WHERE json_valid(payload)"
    )
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS webhook_events_sequence ON webhook_events (instance_id, sequence)"
    )
    # The events job looks up an incoming message's event by its WhatsApp id (dedupe on the way in).
    db.execute(
        "CREATE INDEX IF NOT EXISTS webhook_events_message_id ON webhook_events"
        " (instance_id, json_extract(payload, '$.message.id')) WHERE kind = 'message'"
    )


MIGRATIONS: list[tuple[int, str, Callable[[sqlite_utils.Database], None]]] = [
    (1, "users, instances, settings", _m001_initial),
    (2, "messages, status history, idempotency keys", _m002_messages),
    (3, "webhook events and delivery attempts", _m003_webhooks),
    (4, "unique status per message, cursor and incoming message", _m004_unique_constraints),
    (5, "server-side dashboard sessions", _m005_dashboard_sessions),
    (6, "users: disabled_at, last_login_at", _m006_user_status),
    (7, "pacing settings per instance, scheduled sends", _m007_delivery_control),
    (8, "account API keys and their audit log", _m008_account_keys),
    (9, "messages: details (replies, locations, reactions, edits, deletions)", _m009_message_details),
    (10, "per-instance webhook event sequence", _m010_webhook_sequence),
]


def apply_migrations(db: sqlite_utils.Database) -> list[int]:
    """Apply every migration not yet applied; return the versions applied now."""
    applied_now = []
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)"
    )
    # Sorted: migrations written on separate branches may be listed out of order after a merge.
    for version, name, migrate in sorted(MIGRATIONS, key=lambda migration: migration[0]):
        # BEGIN IMMEDIATE serialises concurrent starters (web workers, CLI, worker).
        with db.conn:
            db.execute("BEGIN IMMEDIATE")
            done = db.execute("SELECT 1 FROM schema_migrations WHERE version = ?", [version]).fetchone()
            if done:
                continue
            migrate(db)
            db.execute("INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))", [version, name])
            applied_now.append(version)
    return applied_now
