"""Issue 11 item 8: every webhook payload carries its instance's sequence number.

Retries may overtake nothing but may be overtaken: a failing event does not hold back the ones
behind it, so the receiver restores the order from `sequence` (gap-free per instance, the same
on every attempt).
"""

import json
import threading

import pytest

from megamsg.config import set_process_config
from megamsg.delivery.events import handle_event
from megamsg.delivery.webhook_config import rotate_secret, set_webhook
from megamsg.delivery.webhooks import publish, record_event
from megamsg.store.db import connect
from megamsg.store.webhook_events import get_event
from tests.conftest import wait_for
from tests.webhook_support import WEBHOOK_TEST_CONFIG


@pytest.fixture
def config_overrides(config_overrides):
    return {**config_overrides, **WEBHOOK_TEST_CONFIG}


def sequences(db, instance_id: str) -> list[tuple[int, int]]:
    """(column, payload) sequence of each of the instance's events, in the order they were stored."""
    return [
        (row[0], json.loads(row[1])["sequence"])
        for row in db.execute(
            "SELECT sequence, payload FROM webhook_events WHERE instance_id = ? ORDER BY rowid", [instance_id]
        )
    ]


def test_sequences_are_gap_free_per_instance_under_concurrent_writers(app, make_instance):
    first, _ = make_instance("First")
    second, _ = make_instance("Second")
    errors: list[BaseException] = []

    def write(instance: dict, count: int) -> None:
        database = connect(app.config["DATABASE"])  # one connection per writer, as jobs have
        try:
            for n in range(count):
                record_event(database, instance, "session", {"session": {"status": f"s{n}"}})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            database.conn.close()

    writers = [threading.Thread(target=write, args=(inst, 20)) for inst in (first, second) * 3]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert errors == []
    database = connect(app.config["DATABASE"])
    try:
        for instance in (first, second):
            stored = sequences(database, instance["id"])
            assert [column for column, _ in stored] == list(range(1, 61))  # in commit order, no gaps
            assert all(column == payload for column, payload in stored)
    finally:
        database.conn.close()


def test_sequence_sits_beside_type_and_instance_id(db, make_instance):
    instance, _ = make_instance()
    event = get_event(db, record_event(db, instance, "status", {"status": {"id": "m1", "status": "read"}}))
    body = json.loads(event["payload"])
    assert list(body)[:3] == ["type", "instance_id", "sequence"]
    assert body["sequence"] == event["sequence"] == 1


def test_a_retry_overtaken_in_the_same_second_is_put_back_in_order_by_sequence(
    app, db, make_instance, scripted_receiver, queue_workers
):
    instance, _ = make_instance()
    set_webhook(db, instance["id"], scripted_receiver.url)
    rotate_secret(db, instance["id"])
    hooked = db["instances"].get(instance["id"])
    scripted_receiver.answer(500, default=200)  # the first event's first attempt fails
    ids = [
        publish(db, app.config, hooked, "status", {"status": {"id": f"m{n}", "status": "read"}})
        for n in range(1, 5)
    ]
    queue_workers.start()
    wait_for(lambda: scripted_receiver.count() == 5, 20, what="4 deliveries and one retry")
    received = [json.loads(request["body"]) for request in scripted_receiver.requests]
    delivered = [body["status"]["id"] for body in received[1:]]
    assert delivered != ["m1", "m2", "m3", "m4"], "the retry should arrive after the later events"
    # The receiver's side: dedupe by webhook-id, sort by sequence.
    latest = {
        request["headers"]["webhook-id"]: body
        for request, body in zip(scripted_receiver.requests, received, strict=True)
    }
    in_order = sorted(latest.values(), key=lambda body: body["sequence"])
    assert [body["status"]["id"] for body in in_order] == ["m1", "m2", "m3", "m4"]
    assert [body["sequence"] for body in in_order] == [1, 2, 3, 4]
    assert set(latest) == set(ids)


def test_the_events_job_run_twice_at_once_records_one_message_and_one_event(app, make_instance):
    instance, _ = make_instance()
    event = {
        "kind": "message",
        "wa_id": "WAMID-TWICE",
        "from": "201234567890",
        "push_name": "Ann",
        "type": "text",
        "text": "once",
        "timestamp": 1_790_000_000,
    }
    previous = set_process_config(app.config)
    results: list[str] = []
    try:
        runs = [
            threading.Thread(target=lambda: results.append(handle_event(instance["id"], event)))
            for _ in range(6)
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
    finally:
        set_process_config(previous)
    assert sorted(results) == ["duplicate"] * 5 + ["stored"]
    database = connect(app.config["DATABASE"])
    try:
        [messages] = database.execute(
            "SELECT COUNT(*) FROM messages WHERE instance_id = ? AND wa_id = 'WAMID-TWICE'", [instance["id"]]
        ).fetchone()
        assert messages == 1
        assert [payload for _, payload in sequences(database, instance["id"])] == [1]
    finally:
        database.conn.close()


def test_migration_10_numbers_existing_events_per_instance_in_recorded_order(tmp_path, monkeypatch):
    from tests.test_upgrades import build_at

    path = str(tmp_path / "old.db")
    build_at(path, 8, monkeypatch)
    old = connect(path)
    rows = [  # (id, instance, created_at) inserted out of time order
        ("e3", "inst_a", "2026-05-02T10:00:02+00:00"),
        ("e1", "inst_a", "2026-05-02T10:00:00+00:00"),
        ("e9", "inst_b", "2026-05-02T09:00:00+00:00"),
        ("e2", "inst_a", "2026-05-02T10:00:01+00:00"),
    ]
    for event_id, instance_id, created_at in rows:
        old.execute(
            "INSERT INTO webhook_events (id, instance_id, kind, payload, status, attempts, created_at, updated_at)"
            " VALUES (?, ?, 'session', ?, 'delivered', 1, ?, ?)",
            [event_id, instance_id, json.dumps({"type": "session", "id": event_id}), created_at, created_at],
        )
    old.conn.commit()
    old.conn.close()

    from megamsg.store.db import migrate

    assert 10 in migrate(path)
    database = connect(path)
    try:
        numbered = {
            row[0]: (row[1], json.loads(row[2]))
            for row in database.execute("SELECT id, sequence, payload FROM webhook_events")
        }
    finally:
        database.conn.close()
    assert {event_id: seq for event_id, (seq, _) in numbered.items()} == {"e1": 1, "e2": 2, "e3": 3, "e9": 1}
    assert all(body["sequence"] == seq and body["id"] == eid for eid, (seq, body) in numbered.items())


def test_migrations_apply_in_version_order_whatever_the_list_order(tmp_path, monkeypatch):
    from megamsg.store import migrations

    applied: list[int] = []
    shuffled = [
        (version, name, lambda db, v=version, step=step: (applied.append(v), step(db)))
        for version, name, step in reversed(migrations.MIGRATIONS)
    ]
    monkeypatch.setattr(migrations, "MIGRATIONS", shuffled)
    database = connect(str(tmp_path / "fresh.db"))
    try:
        migrations.apply_migrations(database)
    finally:
        database.conn.close()
    assert applied == sorted(applied) and len(applied) == len(shuffled)
