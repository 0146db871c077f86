"""An events job killed after storing a message and its webhook event, before queueing the delivery.

Its retry found the message stored and its event recorded, called it a duplicate and queued
nothing: the event waited, pending, for the sweeper's two-hour pass (found by the burst drill
that kills the events worker).
"""

import pytest

from megamsg import keys
from megamsg.delivery.events import message_payload
from megamsg.delivery.webhook_config import rotate_secret, set_webhook
from megamsg.delivery.webhooks import record_event
from megamsg.queues import queue
from megamsg.store import message_log
from megamsg.store.webhook_events import get_event
from tests.conftest import wait_for
from tests.webhook_support import WEBHOOK_TEST_CONFIG

EVENT = {
    "kind": "message",
    "wa_id": "CRASHWINDOW1",
    "from": "201555000111",
    "push_name": "Amira",
    "chat": None,
    "is_group": False,
    "type": "text",
    "text": "stored, never queued",
    "timestamp": 1_790_000_000,
    "media": None,
}


@pytest.fixture
def config_overrides(config_overrides):
    return {**config_overrides, **WEBHOOK_TEST_CONFIG}


def test_the_retry_queues_the_delivery_the_killed_run_never_queued(
    app, db, make_instance, scripted_receiver, queue_workers
):
    instance, _ = make_instance()
    set_webhook(db, instance["id"], scripted_receiver.url)
    rotate_secret(db, instance["id"])
    instance = db["instances"].get(instance["id"])
    # What the first run left behind when killed between its commit and its enqueue.
    row, _ = message_log.record_incoming(
        db,
        instance["id"],
        {
            "wa_id": EVENT["wa_id"],
            "peer": "+" + EVENT["from"],
            "type": "text",
            "text": EVENT["text"],
            "push_name": EVENT["push_name"],
            "wa_timestamp": EVENT["timestamp"],
        },
    )
    event_id = record_event(db, instance, "message", message_payload(row, EVENT))

    queue_workers.start()
    job = queue(dict(app.config), keys.EVENTS_QUEUE).enqueue(
        "megamsg.delivery.events.handle_event", instance["id"], EVENT, result_ttl=60
    )
    wait_for(lambda: job.get_status(refresh=True) == "finished", 20, what="the retried events job")
    assert job.return_value() == "duplicate; its delivery queued again"  # nothing stored twice

    wait_for(lambda: scripted_receiver.count() == 1, 15, what="the delivery")
    headers = {name.lower(): value for name, value in scripted_receiver.requests[0]["headers"].items()}
    assert headers["webhook-id"] == event_id
    wait_for(lambda: get_event(db, event_id)["status"] == "delivered", 15, what="the event delivered")
    assert db.execute("SELECT count(*) FROM messages WHERE wa_id = ?", [EVENT["wa_id"]]).fetchone()[0] == 1


def test_a_true_duplicate_of_a_delivered_message_sends_nothing_again(
    app, db, make_instance, scripted_receiver, queue_workers
):
    instance, _ = make_instance()
    set_webhook(db, instance["id"], scripted_receiver.url)
    rotate_secret(db, instance["id"])
    queue_workers.start()
    events = queue(dict(app.config), keys.EVENTS_QUEUE)
    first = events.enqueue("megamsg.delivery.events.handle_event", instance["id"], EVENT, result_ttl=60)
    wait_for(lambda: scripted_receiver.count() == 1, 20, what="the first delivery")
    assert first.get_status(refresh=True) == "finished"

    again = events.enqueue("megamsg.delivery.events.handle_event", instance["id"], EVENT, result_ttl=60)
    wait_for(lambda: again.get_status(refresh=True) == "finished", 20, what="the duplicate")
    assert again.return_value() == "duplicate"
    probe = events.enqueue("builtins.len", "x", result_ttl=60)  # the worker has moved on past the duplicate
    wait_for(lambda: probe.get_status(refresh=True) == "finished", 20, what="a later job")
    assert scripted_receiver.count() == 1
