"""Events from the (simulated) WhatsApp network reach the webhook in the contract's shape."""

import base64
import http.server
import json
import subprocess
import sys
import threading
from datetime import datetime

import pytest

from tests.conftest import REPO, auth_headers, child_env, wait_for
from tests.media_samples import png_bytes


class Receiver:
    """A real HTTP endpoint on loopback that records every webhook it gets."""

    def __init__(self):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "json": json.loads(body)})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def of_type(self, kind: str) -> list[dict]:
        with self.lock:
            return [r["json"] for r in self.requests if r["json"]["type"] == kind]


@pytest.fixture
def receiver():
    instance = Receiver()
    yield instance
    instance.server.shutdown()


@pytest.fixture
def private_urls(app):
    """Webhooks to the loopback receiver are allowed (set before any worker starts)."""
    app.config["ALLOW_PRIVATE_URLS"] = True


def set_webhook(client, headers: dict, url: str) -> None:
    response = client.put("/api/whatsapp/instance/webhook", headers=headers, json={"url": url})
    assert response.status_code == 200, response.get_data(as_text=True)


def iso(value: str) -> datetime:
    return datetime.fromisoformat(value)


DOC = base64.b64encode(b"%PDF-1.4 test\n%%EOF\n").decode()
INCOMING = [
    (
        "text",
        {"from": "+201234567890", "push_name": "John Doe", "type": "text", "text": "Hello!"},
        {
            "from": "201234567890",
            "push_name": "John Doe",
            "text": "Hello!",
            "is_group": False,
            "type": "text",
        },
    ),
    (
        "group",
        {
            "from": "+201234567891",
            "push_name": "Mona",
            "text": "Hi all",
            "is_group": True,
            "chat": "120363111@g.us",
        },
        {
            "from": "201234567891",
            "push_name": "Mona",
            "text": "Hi all",
            "is_group": True,
            "type": "text",
            "chat": "120363111@g.us",
        },
    ),
    (
        "image with caption",
        {
            "from": "+201234567890",
            "type": "image",
            "caption": "Look",
            "media": base64.b64encode(png_bytes()).decode(),
            "mime_type": "image/png",
        },
        {"from": "201234567890", "push_name": "", "text": "Look", "is_group": False, "type": "image"},
    ),
    (
        "document with file name",
        {
            "from": "+201234567890",
            "type": "document",
            "media": DOC,
            "mime_type": "application/pdf",
            "file_name": "a.pdf",
        },
        {"from": "201234567890", "push_name": "", "text": "", "is_group": False, "type": "document"},
    ),
]


@pytest.mark.parametrize("case,incoming,expected", INCOMING, ids=[c[0] for c in INCOMING])
def test_incoming_message_payload(
    private_urls, client, connected_instance, receiver, case, incoming, expected
):
    instance, _, headers = connected_instance
    set_webhook(client, headers, receiver.url)
    injected = client.post("/api/simulator/incoming", headers=headers, json=incoming)
    assert injected.status_code == 200, injected.get_data(as_text=True)
    [payload] = wait_for(lambda: receiver.of_type("message"), 15, what="message webhook")
    assert set(payload) == {"type", "instance_id", "sequence", "message", "timestamp"}
    assert payload["instance_id"] == instance["id"]
    iso(payload["timestamp"])  # ISO 8601
    message = payload["message"]
    assert message["id"] == injected.get_json()["id"]
    assert (
        isinstance(message["timestamp"], int)
        and abs(message["timestamp"] - iso(payload["timestamp"]).timestamp()) < 60
    )
    for key, value in expected.items():
        assert message[key] == value, key
    extra = set(message) - {"id", "from", "push_name", "text", "timestamp", "is_group", "type"}
    assert extra == ({"chat", "group_id"} if incoming.get("is_group") else set()) | (
        {"media"} if incoming.get("media") else set()
    )
    if incoming.get("media"):
        media = message["media"]
        data = base64.b64decode(incoming["media"])
        assert media["mime_type"] == incoming["mime_type"] and media["size"] == len(data)
        assert media["file_name"] == incoming.get("file_name")
        download = client.get(media["url"], headers=headers)
        assert download.status_code == 200 and download.data == data
        assert client.get(media["url"]).status_code == 401


def test_sent_message_status_events_and_log(private_urls, client, connected_instance, receiver):
    instance, _, headers = connected_instance
    set_webhook(client, headers, receiver.url)
    sent = client.post(
        "/api/whatsapp/messages/send", headers=headers, json={"phone_number": "+201234567890", "text": "x"}
    )
    message_id = sent.get_json()["id"]
    for status in ("delivered", "read"):
        assert (
            client.post(
                "/api/simulator/receipt", headers=headers, json={"message_id": message_id, "status": status}
            ).status_code
            == 200
        )
    events = wait_for(
        lambda: len(receiver.of_type("status")) >= 3 and receiver.of_type("status"), 15, what="status events"
    )
    assert [e["status"]["status"] for e in events] == ["sent", "delivered", "read"]
    for event in events:
        assert event["status"]["id"] == message_id and event["status"]["to"] == "+201234567890"
        assert event["instance_id"] == instance["id"]
        assert isinstance(event["status"]["timestamp"], int)
    logged = client.get(f"/api/whatsapp/messages/{message_id}", headers=headers).get_json()["message"]
    assert logged["status"] == "read"
    assert [h["status"] for h in logged["history"]] == ["queued", "sent", "delivered", "read"]


def test_session_events(private_urls, client, db, connected_instance, receiver):
    instance, _, headers = connected_instance
    # The scan's own "connected" event is stored (undelivered: no URL yet) before we subscribe.
    wait_for(
        lambda: db.execute("SELECT count(*) FROM webhook_events WHERE kind = 'session'").fetchone()[0], 15
    )
    set_webhook(client, headers, receiver.url)
    client.post("/api/simulator/disconnect", headers=headers)
    client.post("/api/simulator/reconnect", headers=headers)
    events = wait_for(lambda: len(receiver.of_type("session")) >= 2 and receiver.of_type("session"), 15)
    assert [e["session"] for e in events] == [
        {"status": "disconnected", "phone_number": "+201000000001"},
        {"status": "connected", "phone_number": "+201000000001"},
    ]
    assert {e["instance_id"] for e in events} == {instance["id"]}


def test_no_message_lost_while_the_events_worker_is_down(private_urls, app, client, make_instance, receiver):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    set_webhook(client, headers, receiver.url)
    env = child_env(dict(app.config))
    # Only the runner: no supervisor, so no events worker is consuming.
    runner = subprocess.Popen(
        [sys.executable, "-m", "megamsg.runtime.runner", instance["id"]], cwd=REPO, env=env
    )
    worker = None
    try:
        wait_for(
            lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["status"] == "qr", 20
        )
        client.post("/api/simulator/scan", headers=headers, json={"phone_number": "+201000000001"})
        ids = []
        for n in range(200):
            answer = client.post(
                "/api/simulator/incoming", headers=headers, json={"from": "+201234567890", "text": f"n{n}"}
            )
            assert answer.status_code == 200
            ids.append(answer.get_json()["id"])
        assert receiver.of_type("message") == []
        worker = subprocess.Popen([sys.executable, "-m", "megamsg.runtime.queue_worker"], cwd=REPO, env=env)
        wait_for(
            lambda: len(receiver.of_type("message")) >= 200, 120, interval=0.2, what="all 200 deliveries"
        )
        delivered = [m["message"]["id"] for m in receiver.of_type("message")]
        assert sorted(delivered) == sorted(ids)  # every one, exactly once
    finally:
        for process in (runner, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=15)


def test_one_slow_receiver_does_not_hold_up_another_instances_delivery(
    private_urls, app, db, make_instance, supervisors
):
    from megamsg import keys
    from megamsg.config import DEFAULTS
    from megamsg.delivery.webhook_config import set_webhook as store_webhook
    from megamsg.delivery.webhooks import publish
    from megamsg.store.webhook_events import get_event

    # Each request is held until the other one is in flight too: only parallel delivery passes.
    both_in_flight = threading.Barrier(2, timeout=5)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            try:
                both_in_flight.wait()
                self.send_response(200)
            except threading.BrokenBarrierError:
                self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        config = {**app.config, "WEBHOOK_WORKERS": DEFAULTS["WEBHOOK_WORKERS"]}
        tenants: dict[str, dict] = {}  # one instance per delivery queue (ids are random)
        while len(tenants) < 2:
            instance, _ = make_instance()
            tenants.setdefault(keys.webhook_queue(config, instance["id"]), instance)
        events = []
        for instance in tenants.values():
            store_webhook(db, instance["id"], f"http://127.0.0.1:{server.server_port}/hook")
            instance = db["instances"].get(instance["id"])
            events.append(publish(db, config, instance, "message", {"message": {"id": instance["id"]}}))
        supervisors.start(MEGAMSG_WEBHOOK_WORKERS=str(DEFAULTS["WEBHOOK_WORKERS"]))
        for event_id in events:
            wait_for(lambda e=event_id: get_event(db, e)["status"] == "delivered", 20, what="delivered")
            assert get_event(db, event_id)["attempts"] == 1
    finally:
        server.shutdown()


def test_a_sender_without_a_known_number_is_delivered_with_its_lid(app, db, make_instance):
    from megamsg.config import set_process_config
    from megamsg.delivery.events import handle_event
    from megamsg.store.webhook_events import get_event, list_events

    instance, _ = make_instance()
    event = {
        "kind": "message",
        "wa_id": "3EB0LID",
        "from": "",
        "sender_lid": "123456789012345@lid",
        "push_name": "Hidden",
        "type": "text",
        "text": "hi",
        "timestamp": 1714650000,
        "is_group": False,
        "media": None,
    }
    previous = set_process_config(app.config)
    try:
        assert handle_event(instance["id"], event) == "stored"
    finally:
        set_process_config(previous)
    [listed] = list_events(db, instance["id"], 10, 0)
    message = json.loads(get_event(db, listed["id"])["payload"])["message"]
    assert (message["from"], message["sender_lid"], message["text"]) == ("", "123456789012345@lid", "hi")
    [row] = db.execute("SELECT peer FROM messages WHERE wa_id = '3EB0LID'").fetchall()
    assert row[0] == "123456789012345@lid"


def test_an_instances_events_are_delivered_in_order_by_parallel_workers(
    private_urls, app, db, make_instance, supervisors, receiver
):
    from megamsg.delivery.webhook_config import set_webhook as store_webhook
    from megamsg.delivery.webhooks import publish

    instance, _ = make_instance()
    store_webhook(db, instance["id"], receiver.url)
    instance = db["instances"].get(instance["id"])
    sent = [publish(db, app.config, instance, "message", {"message": {"id": f"m{n}"}}) for n in range(12)]
    supervisors.start(MEGAMSG_WEBHOOK_WORKERS="3")
    delivered = wait_for(lambda: len(got := receiver.of_type("message")) == len(sent) and got, 20)
    assert [event["message"]["id"] for event in delivered] == [f"m{n}" for n in range(12)]
