"""Issue 11 item 5: writes that belong together are one transaction, shown with injected faults.

Each fault is a real SQLite trigger that aborts the *last* statement of a write; nothing the write
did before it may stay.
"""

import sqlite3

import pytest

from megamsg.store import message_log, webhook_events
from megamsg.store.instances import delete_instance


def counts(db) -> dict[str, int]:
    tables = ("instances", "messages", "message_status", "webhook_events", "webhook_deliveries")
    return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}


def refuse(db, when: str) -> None:
    """Abort every statement of this kind from now on, like a crash at that point."""
    db.execute(f"CREATE TRIGGER injected_fault {when} BEGIN SELECT RAISE(ABORT, 'injected fault'); END")


def new_event(db, instance_id: str) -> str:
    return webhook_events.insert_event(db, instance_id, "message", {"type": "message"}, "pending", None)


def new_message(db, instance_id: str) -> str:
    fields = {"peer": "+201234567890", "type": "text", "text": "hi"}
    return message_log.create_outgoing(db, instance_id, fields)["id"]


def record_attempt(db, event_id: str) -> None:
    webhook_events.record_attempt(
        db,
        event_id,
        1,
        "https://receiver.example/hook",
        "failed",
        status_code=500,
        error="HTTP 500",
        duration_ms=12,
        excerpt="oops",
    )


def no_setup(db, instance_id: str) -> str:
    return instance_id


# (name, set-up returning what the write acts on, the statement that fails, the write)
WRITES = [
    ("webhook attempt and event status", new_event, "BEFORE UPDATE ON webhook_events", record_attempt),
    (
        "outgoing message and its first status",
        no_setup,
        "BEFORE INSERT ON message_status",
        lambda db, instance_id: new_message(db, instance_id),
    ),
    (
        "status history and current status",
        new_message,
        "BEFORE UPDATE ON messages",
        lambda db, message_id: message_log.set_status(db, message_id, "sent", wa_id="WA1"),
    ),
    ("instance and everything stored for it", new_message, "BEFORE DELETE ON instances", None),
]


@pytest.mark.parametrize(("name", "setup", "fault", "write"), WRITES, ids=[row[0] for row in WRITES])
def test_a_fault_in_the_last_statement_undoes_the_whole_write(db, make_instance, name, setup, fault, write):
    instance, _ = make_instance()
    target = setup(db, instance["id"])
    before = counts(db)
    refuse(db, fault)
    with pytest.raises(sqlite3.IntegrityError, match="injected fault"):
        if write is None:
            delete_instance(db, instance["id"])
        else:
            write(db, target)
    assert not db.conn.in_transaction
    assert counts(db) == before


def test_a_failed_attempt_record_never_allows_a_fourth_attempt(db, make_instance):
    instance, _ = make_instance()
    event_id = new_event(db, instance["id"])
    refuse(db, "BEFORE UPDATE ON webhook_events")
    with pytest.raises(sqlite3.IntegrityError):
        record_attempt(db, event_id)
    db.execute("DROP TRIGGER injected_fault")
    [event] = [dict(row) for row in db.query("SELECT * FROM webhook_events")]
    # The attempt was not recorded at all, so the event's count and the attempts log still agree.
    assert event["attempts"] == 0 and event["status"] == "pending"
    assert webhook_events.list_attempts(db, event["id"]) == []
