"""The message log under concurrent writers (each with its own SQLite connection, as in production)."""

import threading

import pytest

from megamsg import message_log
from megamsg.db import connect


def run_together(count: int, work) -> list:
    """Start count threads at once (a barrier), return their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def target(n: int) -> None:
        barrier.wait()
        results[n] = work(n)

    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_a_status_is_recorded_once_whoever_reports_it(app, make_instance):
    instance, _ = make_instance()
    path = app.config["DATABASE"]
    for _ in range(20):
        row = message_log.create_outgoing(
            connect(path), instance["id"], {"peer": "+201234567890", "type": "text"}
        )

        def report(_n: int, message_id: str = row["id"]) -> bool:
            return message_log.set_status(connect(path), message_id, "sent", wa_id="W")

        assert sorted(run_together(4, report)) == [False, False, False, True]
    db = connect(path)
    assert db.execute("SELECT count(*) FROM message_status WHERE status = 'sent'").fetchone()[0] == 20


def test_concurrent_inserts_get_distinct_cursor_positions(app, make_instance):
    instance, _ = make_instance()
    path = app.config["DATABASE"]

    def insert(n: int) -> int:
        db = connect(path)
        return [
            message_log.create_outgoing(db, instance["id"], {"peer": "+2010", "type": "text"})["seq"]
            for _ in range(20)
        ]

    seqs = [seq for batch in run_together(8, insert) for seq in batch]
    assert sorted(seqs) == list(range(1, 161))


def test_incoming_message_stored_once(app, make_instance):
    instance, _ = make_instance()
    path = app.config["DATABASE"]

    def receive(_n: int) -> bool:
        return message_log.record_incoming(
            connect(path), instance["id"], {"wa_id": "ABC", "peer": "+2011", "type": "text"}
        )[1]

    assert sorted(run_together(4, receive)) == [False, False, False, True]


@pytest.mark.parametrize(
    "steps,final",
    [
        (["sent", "read", "delivered"], "read"),  # a late receipt never moves status back
        (["failed", "sent"], "sent"),  # a timed-out send that went out after all
        (["sent", "failed"], "sent"),
    ],
)
def test_status_only_moves_forward(db, make_instance, steps, final):
    instance, _ = make_instance()
    row = message_log.create_outgoing(db, instance["id"], {"peer": "+201234567890", "type": "text"})
    for step in steps:
        message_log.set_status(db, row["id"], step, error="e" if step == "failed" else None)
    assert message_log.get_message(db, instance["id"], row["id"])["status"] == final
    assert [h["status"] for h in message_log.history(db, row["id"])] == ["queued", *steps]
