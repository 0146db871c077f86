"""The message log under concurrent writers (each with its own SQLite connection, as in production)."""

import threading

import pytest

from megamsg.store import message_log
from megamsg.store.db import connect
from tests.conftest import wait_for


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


def _receipt_event(wa_id: str, recheck: int = 0) -> dict:
    event = {"kind": "receipt", "wa_ids": [wa_id], "status": "delivered", "timestamp": 1714650000}
    return {**event, "recheck": recheck} if recheck else event


def test_a_receipt_that_overtakes_its_send_result_is_applied_later(app, db, make_instance, queue_workers):
    from megamsg import keys
    from megamsg.queues import queue

    instance, _ = make_instance()
    queue_workers.start()
    early = queue(app.config, keys.EVENTS_QUEUE).enqueue(
        "megamsg.delivery.events.handle_event", instance["id"], _receipt_event("WA1")
    )
    wait_for(lambda: early.get_status(refresh=True) == "finished", timeout=20, what="the early receipt")
    assert early.return_value() == "0 status update(s), 1 to look up again"
    # Only now does the send's own result arrive with the WhatsApp id.
    row = message_log.create_outgoing(db, instance["id"], {"peer": "+201234567890", "type": "text"})
    message_log.set_status(db, row["id"], "sent", wa_id="WA1")
    wait_for(
        lambda: message_log.get_message(db, instance["id"], row["id"])["status"] == "delivered",
        timeout=20,
        what="the receipt looked up again",
    )
    assert [h["status"] for h in message_log.history(db, row["id"])] == ["queued", "sent", "delivered"]


def test_a_receipt_for_a_message_we_never_sent_is_dropped_after_the_last_look(app, db, make_instance):
    from rq.registry import ScheduledJobRegistry

    from megamsg import keys
    from megamsg.config import set_process_config
    from megamsg.delivery.events import RECEIPT_RECHECK_SECONDS, handle_event
    from megamsg.queues import queue

    instance, _ = make_instance()
    previous = set_process_config(app.config)
    try:
        scheduled = ScheduledJobRegistry(queue=queue(app.config, keys.EVENTS_QUEUE))
        assert handle_event(instance["id"], _receipt_event("PHONE-SENT")).endswith("1 to look up again")
        assert scheduled.count == 1
        last = _receipt_event("PHONE-SENT", recheck=len(RECEIPT_RECHECK_SECONDS))
        assert handle_event(instance["id"], last) == "0 status update(s)"
        assert scheduled.count == 1
    finally:
        set_process_config(previous)
