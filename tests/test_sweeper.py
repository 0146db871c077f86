"""The sweeper ends messages nobody will finish and re-queues forgotten webhook events."""

import redis

from megamsg import keys
from megamsg.delivery.sweeper import finish_stuck_messages, requeue_stale_webhook_events
from megamsg.delivery.webhooks import record_event
from megamsg.store import message_log


def test_stuck_messages_end_failed_with_the_reason(app, db, make_instance):
    instance, _ = make_instance()
    client = redis.Redis.from_url(app.config["REDIS_URL"])
    never = message_log.create_outgoing(db, instance["id"], {"peer": "+201234567890", "type": "text"})
    midway = message_log.create_outgoing(db, instance["id"], {"peer": "+201234567890", "type": "text"})
    fresh = message_log.create_outgoing(db, instance["id"], {"peer": "+201234567890", "type": "text"})
    db.execute(
        "UPDATE messages SET created_at = '2020-01-01T00:00:00+00:00' WHERE id IN (?, ?)",
        [never["id"], midway["id"]],
    )
    db.conn.commit()
    client.set(keys.send_claim(midway["id"]), "started")  # a runner began sending, then died

    assert finish_stuck_messages(dict(app.config)) == 2
    rows = {m["id"]: m for m in message_log.list_messages(db, instance["id"], 10, None, None)}
    assert rows[never["id"]]["status"] == "failed" and "never picked" in rows[never["id"]]["error"]
    assert rows[midway["id"]]["status"] == "failed" and "delivery is unknown" in rows[midway["id"]]["error"]
    assert rows[fresh["id"]]["status"] == "queued"
    # A runner that comes back later can no longer send the one it never started.
    assert client.get(keys.send_claim(never["id"])) == b"cancelled"


def test_stale_pending_webhook_events_are_queued_again(app, db, make_instance):
    instance, _ = make_instance()
    db["instances"].update(instance["id"], {"webhook_url": "https://example.com/hook"})
    instance = db["instances"].get(instance["id"])
    old = record_event(db, instance, "session", {"session": {"status": "connected"}})
    new = record_event(db, instance, "session", {"session": {"status": "connected"}})
    db.execute("UPDATE webhook_events SET updated_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", [old])
    db.conn.commit()
    assert requeue_stale_webhook_events(dict(app.config)) == 1
    client = redis.Redis.from_url(app.config["REDIS_URL"])
    name = keys.webhook_queue(app.config, instance["id"])
    # Every job on the instance's webhook queue, whether still waiting or already taken by a worker.
    hashes = [key for key in client.scan_iter("rq:job:*") if key.count(b":") == 2]
    jobs = [key for key in hashes if client.hget(key, "origin") == name.encode()]
    args = [(client.hget(key, "description") or b"").decode() for key in jobs]
    assert any(old in description for description in args) and not any(new in d for d in args)
