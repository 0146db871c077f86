"""Webhook delivery end to end: real RQ worker process, real Redis, a real HTTP receiver on loopback.

Only 127.0.0.1 ever receives traffic here: the SSRF case points at the loopback receiver with the
guard on, and must be refused before any connection is made.
"""

import base64
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from rq.registry import ScheduledJobRegistry
from standardwebhooks import Webhook

from megamsg import keys, netguard
from megamsg.config import set_process_config
from megamsg.delivery.webhook_attempt import retry_after_seconds
from megamsg.delivery.webhook_config import rotate_secret, set_webhook
from megamsg.delivery.webhooks import (
    RedeliveryRefused,
    deliver,
    publish,
    record_event,
    redeliver,
    retry_intervals,
)
from megamsg.queues import queue
from megamsg.signing import new_secret, sign, signing_key
from megamsg.store.db import connect
from megamsg.store.webhook_events import get_event, list_attempts
from tests.conftest import auth_headers, wait_for
from tests.webhook_support import WEBHOOK_TEST_CONFIG, verify_signature

# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def config_overrides(config_overrides):
    """Short backoff and timeout so that 3 attempts take seconds."""
    return {**config_overrides, **WEBHOOK_TEST_CONFIG}


@pytest.fixture
def hooked(app, db, make_instance, scripted_receiver):
    """An instance whose webhook points at the scripted_receiver, with a fresh secret."""
    instance, _ = make_instance()
    set_webhook(db, instance["id"], scripted_receiver.url)
    rotate_secret(db, instance["id"])
    return db["instances"].get(instance["id"])


def message_payload(text: str = "Hello!") -> dict:
    return {
        "type": "message",
        "message": {
            "id": "ABCDEF123456",
            "from": "201234567890",
            "push_name": "John Doe",
            "text": text,
            "timestamp": 1714650000,
            "is_group": False,
            "type": "text",
        },
        "timestamp": "2026-05-02T12:00:00+00:00",
    }


def event_status(app, event_id: str) -> dict:
    database = connect(app.config["DATABASE"])
    try:
        return get_event(database, event_id)
    finally:
        database.conn.close()


def wait_status(app, event_id: str, status: str, timeout: float = 15.0) -> dict:
    return wait_for(
        lambda: (row := event_status(app, event_id))["status"] == status and row,
        timeout=timeout,
        what=f"event {event_id} to be {status}",
    )


def nothing_queued(app) -> bool:
    for name in keys.webhook_queues(app.config):
        webhooks = queue(app.config, name)
        if len(webhooks) or ScheduledJobRegistry(queue=webhooks).count:
            return False
    return True


# --- delivery through the real worker ------------------------------------------------------------


def test_fails_twice_then_delivered_with_stable_id_and_valid_signatures(
    app, db, hooked, scripted_receiver, queue_workers
):
    scripted_receiver.answer(500, 500, 200)
    queue_workers.start()
    event_id = publish(db, app.config, hooked, "message", message_payload())
    stored = get_event(db, event_id)
    assert stored["status"] == "pending"

    event = wait_status(app, event_id, "delivered")
    assert (event["attempts"], event["last_status_code"], event["last_error"]) == (3, 200, None)
    attempts = list_attempts(db, event_id)
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a["status_code"] for a in attempts] == [500, 500, 200]
    assert [a["error"] for a in attempts] == ["HTTP 500", "HTTP 500", None]
    assert all(a["url"] == netguard.redact(scripted_receiver.url) and a["duration_ms"] >= 0 for a in attempts)
    assert json.loads(attempts[-1]["response_excerpt"]) == {"answered": 200}

    assert scripted_receiver.count() == 3
    bodies = {r["body"] for r in scripted_receiver.requests}
    assert bodies == {stored["payload"].encode()}
    assert {r["headers"]["webhook-id"] for r in scripted_receiver.requests} == {event_id}
    for request in scripted_receiver.requests:
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["User-Agent"] == "MegaMsg-Webhook/1"
        assert verify_signature(hooked["webhook_secret"], request) == {
            **message_payload(),
            "instance_id": hooked["id"],
            "sequence": 1,
        }
    gaps = [
        b["at"] - a["at"]
        for a, b in zip(scripted_receiver.requests, scripted_receiver.requests[1:], strict=False)
    ]
    assert all(gap >= 0.99 for gap in gaps), gaps  # the 1 s backoff was respected
    assert nothing_queued(app)

    log = wait_for(
        lambda: (text := queue_workers.log_text()) and f"webhook {event_id} attempt 3/3" in text and text
    )
    secret = hooked["webhook_secret"]
    assert secret not in log and secret.removeprefix("whsec_") not in log
    assert not any(
        r["headers"]["webhook-signature"].removeprefix("v1,") in log for r in scripted_receiver.requests
    )


def test_always_failing_ends_failed_and_redeliver_gives_three_more(
    app, db, hooked, scripted_receiver, queue_workers
):
    scripted_receiver.answer(default=500)
    queue_workers.start(WEBHOOK_RETRY_INTERVALS="0,0")  # the backoff itself is tested above
    event_id = publish(db, app.config, hooked, "status", {"status": {"id": "m1", "status": "read"}})
    event = wait_status(app, event_id, "failed")
    assert (event["attempts"], event["last_status_code"], event["last_error"]) == (3, 500, "HTTP 500")
    assert len(list_attempts(db, event_id)) == 3

    redeliver(db, app.config, event_id)
    wait_for(lambda: len(list_attempts(db, event_id)) == 6, timeout=15, what="6 attempts")
    event = wait_status(app, event_id, "failed")
    assert event["attempts"] == 3
    assert [a["attempt"] for a in list_attempts(db, event_id)] == [1, 2, 3, 1, 2, 3]
    assert scripted_receiver.count() == 6
    assert {r["headers"]["webhook-id"] for r in scripted_receiver.requests} == {event_id}
    assert len({r["body"] for r in scripted_receiver.requests}) == 1
    assert nothing_queued(app)


def test_410_gone_stops_after_one_attempt(app, db, hooked, scripted_receiver, queue_workers):
    scripted_receiver.answer(410, default=200)
    queue_workers.start()
    event_id = publish(db, app.config, hooked, "session", {"session": {"status": "connected"}})
    event = wait_status(app, event_id, "stopped")
    assert (event["attempts"], event["last_status_code"]) == (1, 410)
    wait_for(lambda: nothing_queued(app), what="no further attempt queued or scheduled")
    assert scripted_receiver.count() == 1
    assert len(list_attempts(db, event_id)) == 1


def test_timeout_counts_as_failed_attempt_and_retry_after_is_honoured(
    app, db, hooked, scripted_receiver, queue_workers
):
    # WEBHOOK_TIMEOUT is 1 s and our backoff 0 s; the receiver asks for 2 s with Retry-After.
    scripted_receiver.answer((200, {}, 4.0), (503, {"Retry-After": "2"}, 0.0), 200)
    queue_workers.start(WEBHOOK_RETRY_INTERVALS="0,0")
    event_id = publish(db, app.config, hooked, "message", message_payload())
    event = wait_status(app, event_id, "delivered")
    slow, unavailable, ok = list_attempts(db, event_id)
    assert slow["status_code"] is None and "timeout" in slow["error"].lower()
    assert 900 <= slow["duration_ms"] < 4000
    assert (unavailable["status_code"], unavailable["error"]) == (503, "HTTP 503")
    assert (ok["status_code"], event["attempts"]) == (200, 3)
    second, third = scripted_receiver.requests[1:]
    assert third["at"] - second["at"] >= 1.99


def test_private_address_refused_without_connecting(app, db, hooked, scripted_receiver, queue_workers):
    queue_workers.start(ALLOW_PRIVATE_URLS="0")
    event_id = publish(db, app.config, hooked, "message", message_payload())
    event = wait_status(app, event_id, "failed")
    assert event["attempts"] == 1
    assert "private address" in event["last_error"]
    [attempt] = list_attempts(db, event_id)
    assert attempt["status_code"] is None and "private address" in attempt["error"]
    wait_for(lambda: nothing_queued(app), what="no retry of a refused URL")
    assert scripted_receiver.connections == 0 and scripted_receiver.count() == 0


# --- the job itself, run in this process ---------------------------------------------------------


@pytest.fixture
def in_process_jobs(app):
    """Let deliver() run here with the test app's configuration."""
    previous = set_process_config(app.config)
    yield
    set_process_config(previous)


def test_running_the_job_twice_delivers_once(app, db, hooked, scripted_receiver, in_process_jobs):
    event_id = record_event(db, hooked, "message", message_payload())
    assert deliver(event_id) == "attempt 1: delivered"
    assert deliver(event_id).startswith("nothing to do")
    assert scripted_receiver.count() == 1
    assert get_event(db, event_id)["attempts"] == 1


def test_url_removed_before_delivery_skips_without_sending(
    app, db, hooked, scripted_receiver, in_process_jobs
):
    event_id = record_event(db, hooked, "message", message_payload())
    set_webhook(db, hooked["id"], None)
    deliver(event_id)
    event = get_event(db, event_id)
    assert (event["status"], event["attempts"]) == ("skipped", 0)
    assert scripted_receiver.count() == 0


def test_connection_error_is_recorded_without_the_urls_secrets(app, db, hooked, in_process_jobs, caplog):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    set_webhook(db, hooked["id"], f"http://127.0.0.1:{port}/hook/s3cr3t-path?token=s3cr3t-query")
    event_id = record_event(db, hooked, "message", message_payload())
    with caplog.at_level("INFO"):
        deliver(event_id)
    [attempt] = list_attempts(db, event_id)
    assert attempt["error"] == "Connection error: the server refused the connection."
    stored = json.dumps([attempt, get_event(db, event_id)], default=str) + caplog.text
    assert "refused" in caplog.text
    assert "s3cr3t" not in stored


@pytest.fixture
def trickling_receiver():
    """A receiver that answers 200 but never finishes its headers: a line every 100 ms."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    n = 0
                    while not stop.wait(0.1):
                        conn.sendall(b"X-Wait-%d: 1\r\n" % n)
                        n += 1
                except OSError:
                    pass  # the client hung up, as it should

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_a_receiver_that_never_finishes_answering_is_cut_off_at_the_timeout(
    app, db, hooked, trickling_receiver, in_process_jobs
):
    set_webhook(db, hooked["id"], trickling_receiver)
    event_id = record_event(db, hooked, "message", message_payload())
    started = time.monotonic()
    deliver(event_id)
    took = time.monotonic() - started
    [attempt] = list_attempts(db, event_id)
    timeout = WEBHOOK_TEST_CONFIG["WEBHOOK_TIMEOUT"]
    assert attempt["status_code"] is None
    assert attempt["error"] == f"Timeout: no complete answer within {timeout:g} s."
    assert timeout * 1000 <= attempt["duration_ms"] < timeout * 1000 + 1500
    assert took < timeout + 3
    assert get_event(db, event_id)["status"] == "pending"  # two attempts left


def test_redeliver_refused_while_a_round_is_in_progress(app, db, hooked):
    event_id = publish(db, app.config, hooked, "message", message_payload())  # no worker: stays pending
    with pytest.raises(RedeliveryRefused, match="still being delivered"):
        redeliver(db, app.config, event_id)


# --- recording ----------------------------------------------------------------------------------


def test_record_event_stores_body_once_and_skips_what_will_not_be_sent(db, make_instance, scripted_receiver):
    instance, _ = make_instance()
    no_url = get_event(db, record_event(db, instance, "message", message_payload()))
    assert (no_url["status"], no_url["attempts"]) == ("skipped", 0)
    assert "No webhook URL" in no_url["last_error"]

    set_webhook(db, instance["id"], scripted_receiver.url, ["status"])
    instance = db["instances"].get(instance["id"])
    second = message_payload()
    second["message"]["id"] = "SECOND123456"  # one message event per WhatsApp id
    unselected = get_event(db, record_event(db, instance, "message", second))
    assert unselected["status"] == "skipped" and "message events" in unselected["last_error"]
    selected = get_event(db, record_event(db, instance, "status", {"status": {"id": "x"}}))
    test = get_event(db, record_event(db, instance, "test", {}))
    assert selected["status"] == test["status"] == "pending"
    assert selected["id"].startswith("msg_") and selected["id"] != test["id"]

    body = json.loads(selected["payload"])
    assert (
        list(body) == ["type", "instance_id", "sequence", "status", "timestamp"] and body["type"] == "status"
    )
    assert body["instance_id"] == instance["id"]
    with pytest.raises(ValueError):
        record_event(db, instance, "message", {"type": "status"})
    with pytest.raises(ValueError):
        record_event(db, instance, "presence", {})


# --- signing, secrets and timing rules ----------------------------------------------------------


def test_new_secrets_verify_with_standardwebhooks():
    body = json.dumps(message_payload()).encode()
    now = int(time.time())
    for _ in range(50):
        secret = new_secret()
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
        headers = {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(now),
            "webhook-signature": sign(secret, "msg_1", now, body),
        }
        assert Webhook(secret).verify(body, headers) == message_payload()


def test_signing_key_agrees_with_standardwebhooks_on_older_url_safe_secrets():
    secret = "whsec_" + base64.urlsafe_b64encode(b"\xfb\xff" * 12).decode()  # contains - and _
    assert signing_key(secret) == Webhook(secret)._whsecret


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("5,60", [5.0, 60.0]), ("1, 1", [1.0, 1.0]), ("7", [7.0, 7.0]), ("", [5.0, 60.0]), ("x,y", [5.0, 60.0])],
)
def test_retry_intervals(raw, expected):
    assert retry_intervals({"WEBHOOK_RETRY_INTERVALS": raw}) == expected


def test_retry_after_seconds():
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= retry_after_seconds(in_a_minute) <= 60
    assert retry_after_seconds(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0.0


# --- PUT/GET /api/whatsapp/instance/webhook ------------------------------------------------------


def test_put_webhook_sets_url_and_events_and_null_clears(client, make_instance, db):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    answer = client.put(
        "/api/whatsapp/instance/webhook",
        json={"url": "https://93.184.215.14/hook", "events": ["status", "message"]},
        headers=headers,
    )
    assert answer.status_code == 200
    body = answer.get_json()
    assert body == {
        "ok": True,
        "url": "https://93.184.215.14/hook",
        "secret": instance["webhook_secret"],
        "events": ["message", "status"],
    }
    assert client.get("/api/whatsapp/instance/webhook", headers=headers).get_json() == body

    cleared = client.put("/api/whatsapp/instance/webhook", json={"url": None}, headers=headers).get_json()
    assert cleared["ok"] is True and cleared["url"] is None and cleared["events"] == ["message", "status"]
    assert db["instances"].get(instance["id"])["webhook_url"] is None


@pytest.mark.parametrize(
    ("url", "allow_private", "refusal"),
    [
        ("http://127.0.0.1:9/hook", False, "it resolves to a private address (127.0.0.1). Set MEGAMSG_ALLOW"),
        ("http://localhost/hook", False, "it resolves to a private address"),
        ("http://10.0.0.1/hook", False, "it resolves to a private address (10.0.0.1). Set MEGAMSG_ALLOW"),
        ("http://169.254.169.254/latest", False, "it resolves to a link-local address (169.254.169.254)."),
        ("http://169.254.169.254/latest", True, "it resolves to a link-local address (169.254.169.254)."),
        ("http://[::1]/hook", False, "it resolves to a private address (::1)"),
        ("http://127.0.0.1:9/hook", True, None),
    ],
)
def test_put_webhook_refuses_what_deliveries_would_refuse(
    app, client, make_instance, db, url, allow_private, refusal
):
    app.config["ALLOW_PRIVATE_URLS"] = allow_private
    instance, token = make_instance()
    answer = client.put(
        "/api/whatsapp/instance/webhook", json={"url": url}, headers=auth_headers(instance["id"], token)
    )
    if refusal is None:
        assert answer.status_code == 200 and answer.get_json()["url"] == url
        return
    assert answer.status_code == 422
    message = answer.get_json()["message"]
    assert message.startswith("url is refused: ") and refusal in message
    assert ("MEGAMSG_ALLOW_PRIVATE_URLS" in message) == ("private address" in refusal)
    assert db["instances"].get(instance["id"])["webhook_url"] is None


def test_put_webhook_accepts_a_host_that_does_not_resolve_yet_with_a_warning(client, make_instance, db):
    instance, token = make_instance()
    url = "https://hooks.megamsg.invalid/in"  # .invalid never resolves (RFC 2606)
    answer = client.put(
        "/api/whatsapp/instance/webhook", json={"url": url}, headers=auth_headers(instance["id"], token)
    )
    assert answer.status_code == 200
    assert (
        answer.get_json()["warning"]
        == "Its host name does not resolve now: deliveries will fail until it does."
    )
    assert db["instances"].get(instance["id"])["webhook_url"] == url


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/hook"}, "url must"),
        ({"url": "not a url"}, "url must"),
        ({"url": 123}, "url must"),
        ({"url": ""}, "url must"),
        ({}, "url is required"),
        ({"url": "https://example.com/hook", "events": ["message", "presence"]}, "events: unknown kind"),
        ({"url": "https://example.com/hook", "events": "message"}, "events must"),
        ([1, 2], "JSON object"),
    ],
)
def test_put_webhook_rejects_invalid_settings(client, make_instance, db, body, field):
    instance, token = make_instance()
    answer = client.put(
        "/api/whatsapp/instance/webhook", json=body, headers=auth_headers(instance["id"], token)
    )
    assert answer.status_code == 422
    assert answer.get_json()["ok"] is False and field in answer.get_json()["message"]
    assert db["instances"].get(instance["id"])["webhook_url"] is None


def test_put_webhook_malformed_json_and_no_credentials(client, make_instance):
    instance, token = make_instance()
    headers = {**auth_headers(instance["id"], token), "Content-Type": "application/json"}
    malformed = client.put("/api/whatsapp/instance/webhook", data="{nope", headers=headers)
    assert malformed.status_code == 400 and malformed.get_json()["ok"] is False
    assert client.put("/api/whatsapp/instance/webhook", json={"url": None}).status_code == 401
    assert client.get("/api/whatsapp/instance/webhook").status_code == 401
