"""POST /api/whatsapp/messages/send end to end through the simulator."""

import base64
import hashlib
import http.server
import os
import signal
import subprocess
import sys
import threading

import pytest
import redis

from megamsg import keys
from megamsg.web import create_app
from tests.conftest import REPO, auth_headers, child_env, outbox, wait_for
from tests.media_samples import make_samples


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, bytes]:
    return make_samples(tmp_path_factory.mktemp("media"))


@pytest.fixture
def media_server(samples):
    """A local HTTP server serving the samples at /<type>."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            body = samples.get(self.path.strip("/").split(".")[0])
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def private_urls_app(app):
    """The same app, allowed to fetch media from the loopback test server."""
    app.config["ALLOW_PRIVATE_URLS"] = True
    return app


def test_text_send(client, connected_instance):
    _, _, headers = connected_instance
    response = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+20 123-456-7890", "text": "Hi"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body == {"ok": True, "to": "+201234567890", "type": "text", "id": body["id"], "status": "sent"}
    [sent] = outbox(client, headers)
    assert sent["id"] == body["id"] and sent["to"] == "+201234567890" and sent["text"] == "Hi"
    logged = client.get(f"/api/whatsapp/messages/{body['id']}", headers=headers).get_json()["message"]
    assert logged["status"] == "sent"
    assert [step["status"] for step in logged["history"]] == ["queued", "sent"]


MEDIA_CASES = [
    ("image", {"caption": "A square"}),
    ("audio", {"ptt": True}),
    ("audio", {"ptt": False}),
    ("video", {"caption": "Clip"}),
    ("document", {"caption": "Invoice", "mime_type": "application/pdf", "file_name": "invoice.pdf"}),
]


@pytest.mark.parametrize("source", ["base64", "data-url", "url"])
@pytest.mark.parametrize("kind,extra", MEDIA_CASES)
def test_media_send(private_urls_app, client, connected_instance, samples, media_server, kind, extra, source):
    _, _, headers = connected_instance
    data = samples[kind]
    if source == "base64":
        media = base64.b64encode(data).decode()
    elif source == "data-url":
        media = "data:application/octet-stream;base64," + base64.b64encode(data).decode()
    else:
        media = f"{media_server}/{kind}"
    response = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201234567890", "type": kind, "media": media, **extra},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["type"] == kind
    [sent] = outbox(client, headers)
    assert sent["type"] == kind
    assert sent["media_sha256"] == hashlib.sha256(data).hexdigest()
    assert sent["media_size"] == len(data)
    assert sent["caption"] == extra.get("caption")
    assert sent["ptt"] == extra.get("ptt", False)
    if kind == "document":
        assert (sent["mime_type"], sent["file_name"]) == ("application/pdf", "invoice.pdf")
    else:
        assert sent["mime_type"].split("/")[0] == kind


TEXT_FILE = base64.b64encode(b"just some text, not a picture").decode()

INVALID = [
    ({"text": "x"}, "phone_number is required"),
    ({"phone_number": "", "text": "x"}, "phone_number is required"),
    ({"phone_number": 201234567890, "text": "x"}, "phone_number must be a string"),
    ({"phone_number": "12", "text": "x"}, "phone_number is not"),
    ({"phone_number": "+20abc", "text": "x"}, "phone_number may contain only digits"),
    ({"phone_number": "+201234567890", "type": "sticker", "text": "x"}, "type must be one of"),
    ({"phone_number": "+201234567890", "type": 3, "text": "x"}, "type must be one of"),
    ({"phone_number": "+201234567890"}, "text is required"),
    ({"phone_number": "+201234567890", "text": ""}, "text must not be empty"),
    ({"phone_number": "+201234567890", "text": 5}, "text must be a string"),
    ({"phone_number": "+201234567890", "text": "x" * 65537}, "text must be at most 65536"),
    ({"phone_number": "+201234567890", "text": "x", "caption": "c"}, "caption is only allowed"),
    ({"phone_number": "+201234567890", "type": "image"}, "media is required"),
    ({"phone_number": "+201234567890", "type": "image", "media": ["x"]}, "media must be a string"),
    ({"phone_number": "+201234567890", "type": "document", "media": TEXT_FILE}, "mime_type is required"),
    (
        {"phone_number": "+201234567890", "type": "document", "media": TEXT_FILE, "mime_type": "text/plain"},
        "file_name is required",
    ),
    (
        {"phone_number": "+201234567890", "type": "audio", "media": TEXT_FILE, "ptt": "yes"},
        "ptt must be a boolean",
    ),
    (
        {"phone_number": "+201234567890", "type": "image", "media": TEXT_FILE, "ptt": True},
        "ptt is only allowed",
    ),
    ({"phone_number": "+201234567890", "text": "x", "async": "true"}, "async must be a boolean"),
    (
        {"phone_number": "+201234567890", "type": "image", "media": "not base64!!"},
        "media is not valid base64",
    ),
    ({"phone_number": "+201234567890", "type": "image", "media": TEXT_FILE}, "media is not a valid image"),
    ({"phone_number": "+201234567890", "type": "image", "media": "ftp://example.com/a.png"}, "media must be"),
    ({"phone_number": "+201234567890", "type": "image", "media": "file:///etc/passwd"}, "media must be"),
]


@pytest.mark.parametrize("body,message", INVALID)
def test_invalid_requests_are_422_naming_the_field(client, connected_instance, body, message):
    _, _, headers = connected_instance
    response = client.post("/api/whatsapp/messages/send", headers=headers, json=body)
    assert response.status_code == 422
    answer = response.get_json()
    assert answer["ok"] is False and message in answer["message"], answer
    assert outbox(client, headers) == []


@pytest.mark.parametrize("raw,status", [(b"[1, 2]", 422), (b'"text"', 422), (b"{oops", 400), (b"", 400)])
def test_body_must_be_a_json_object(client, make_instance, raw, status):
    instance, token = make_instance()
    response = client.post(
        "/api/whatsapp/messages/send",
        data=raw,
        headers={**auth_headers(instance["id"], token), "Content-Type": "application/json"},
    )
    assert response.status_code == status
    assert response.get_json()["ok"] is False


def test_unknown_fields_are_ignored_and_reported(client, connected_instance):
    _, _, headers = connected_instance
    response = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201234567890", "text": "x", "captoin": "typo", "instance": 1},
    )
    assert response.status_code == 200
    assert response.get_json()["ignored_fields"] == ["captoin", "instance"]


def test_not_linked_is_502_at_once_and_nothing_is_enqueued(app, client, make_instance, supervisors):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    supervisors.start()
    wait_for(lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["status"] == "qr", 20)
    response = client.post(
        "/api/whatsapp/messages/send", headers=headers, json={"phone_number": "+201234567890", "text": "x"}
    )
    assert response.status_code == 502
    assert response.get_json() == {"ok": False, "message": "WhatsApp session is not connected (status: qr)."}
    assert (
        redis.Redis.from_url(app.config["REDIS_URL"]).llen(f"rq:queue:{keys.session_queue(instance['id'])}")
        == 0
    )
    assert client.get("/api/whatsapp/messages", headers=headers).get_json()["messages"] == []


def test_disconnected_is_502_and_nothing_is_enqueued(app, client, connected_instance):
    instance, _, headers = connected_instance
    client.post("/api/simulator/disconnect", headers=headers)
    response = client.post(
        "/api/whatsapp/messages/send", headers=headers, json={"phone_number": "+201234567890", "text": "x"}
    )
    assert response.status_code == 502
    assert response.get_json() == {
        "ok": False,
        "message": "WhatsApp session is not connected (status: disconnected).",
    }
    queued = redis.Redis.from_url(app.config["REDIS_URL"]).llen(
        f"rq:queue:{keys.session_queue(instance['id'])}"
    )
    assert queued == 0
    assert client.get("/api/whatsapp/messages", headers=headers).get_json()["messages"] == []
    assert outbox(client, headers) == []


def test_driver_error_is_502_with_reason_and_logged_failed(client, connected_instance):
    _, _, headers = connected_instance
    client.post("/api/simulator/fail-next", headers=headers, json={"message": "recipient is not on WhatsApp"})
    response = client.post(
        "/api/whatsapp/messages/send", headers=headers, json={"phone_number": "+201234567890", "text": "x"}
    )
    assert response.status_code == 502
    body = response.get_json()
    assert body["ok"] is False and "recipient is not on WhatsApp" in body["message"]
    logged = client.get(f"/api/whatsapp/messages/{body['id']}", headers=headers).get_json()["message"]
    assert logged["status"] == "failed" and "recipient is not on WhatsApp" in logged["error"]
    assert outbox(client, headers) == []


def test_runner_killed_mid_wait_times_out_and_never_sends_later(app, client, make_instance):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    env = child_env(dict(app.config))

    def start_runner() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "megamsg.runtime.runner", instance["id"]], cwd=REPO, env=env
        )

    runner = start_runner()
    try:
        wait_for(
            lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["status"] == "qr", 20
        )
        client.post("/api/simulator/scan", headers=headers, json={"phone_number": "+201000000001"})
        os.kill(runner.pid, signal.SIGKILL)  # its heartbeat still looks fresh for a while
        runner.wait()
        response = client.post(
            "/api/whatsapp/messages/send",
            headers=headers,
            json={"phone_number": "+201234567890", "text": "late?"},
        )
        assert response.status_code == 502
        body = response.get_json()
        assert (
            body["message"] == "WhatsApp session did not answer within 5 seconds; the message was not sent."
        )
        logged = client.get(f"/api/whatsapp/messages/{body['id']}", headers=headers).get_json()["message"]
        assert logged["status"] == "failed"
        # A new runner (once the dead one's lease expires) must not send the abandoned message.
        runner = start_runner()
        wait_for(
            lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["status"] == "connected",
            20,
        )
        probe = client.post(
            "/api/whatsapp/messages/send",
            headers=headers,
            json={"phone_number": "+201234567890", "text": "probe"},
        )
        assert probe.status_code == 200
        assert [m["text"] for m in outbox(client, headers)] == ["probe"]
    finally:
        runner.terminate()
        runner.wait(timeout=15)


def test_async_send_answers_202_then_completes(client, connected_instance):
    _, _, headers = connected_instance
    response = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201234567890", "text": "later", "async": True},
    )
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and body["id"]

    def final_status():
        status = client.get(f"/api/whatsapp/messages/{body['id']}", headers=headers).get_json()["message"][
            "status"
        ]
        return status if status in ("sent", "failed") else None

    assert wait_for(final_status, 15, what="async message to be sent") == "sent"


def test_idempotency_key_concurrent_requests_send_once(client, connected_instance, app):
    _, _, headers = connected_instance
    request_headers = {**headers, "Idempotency-Key": "order-42"}
    results = []

    def post():
        with app.test_client() as own:
            response = own.post(
                "/api/whatsapp/messages/send",
                headers=request_headers,
                json={"phone_number": "+201234567890", "text": "once"},
            )
            results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 2
    assert results[0] == results[1] and results[0][0] == 200
    assert len(outbox(client, headers)) == 1
    again = client.post(
        "/api/whatsapp/messages/send",
        headers=request_headers,
        json={"phone_number": "+201234567890", "text": "once"},
    )
    assert again.get_json() == results[0][1] and again.headers["Idempotent-Replayed"] == "true"
    different = client.post(
        "/api/whatsapp/messages/send",
        headers=request_headers,
        json={"phone_number": "+201234567890", "text": "other"},
    )
    assert different.status_code == 422 and "Idempotency-Key" in different.get_json()["message"]
    assert len(outbox(client, headers)) == 1


def test_rate_limit_is_429_with_retry_after(config_overrides, make_instance):
    instance, token = make_instance()
    app = create_app({**config_overrides, "RATE_LIMIT_PER_MINUTE": 2})
    client = app.test_client()
    headers = auth_headers(instance["id"], token)
    codes = [
        client.post("/api/whatsapp/messages/send", headers=headers, json={}).status_code for _ in range(3)
    ]
    assert codes[:2] == [422, 422] and codes[2] == 429
    limited = client.post("/api/whatsapp/messages/send", headers=headers, json={})
    assert limited.get_json()["message"].startswith("Rate limit exceeded")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_message_log_pagination_and_scoping(client, connected_instance, make_instance):
    _, _, headers = connected_instance
    ids = []
    for n in range(5):
        ids.append(
            client.post(
                "/api/whatsapp/messages/send",
                headers=headers,
                json={"phone_number": "+201234567890", "text": f"m{n}"},
            ).get_json()["id"]
        )
    page = client.get("/api/whatsapp/messages?limit=2", headers=headers).get_json()
    assert [m["id"] for m in page["messages"]] == ids[::-1][:2]
    rest = client.get(
        f"/api/whatsapp/messages?limit=10&before={page['next_before']}&direction=out", headers=headers
    ).get_json()
    assert [m["id"] for m in rest["messages"]] == ids[::-1][2:]
    assert rest["next_before"] is None
    other, other_token = make_instance("Other")
    foreign = client.get(f"/api/whatsapp/messages/{ids[0]}", headers=auth_headers(other["id"], other_token))
    assert foreign.status_code == 404
    bad = client.get("/api/whatsapp/messages?limit=0", headers=headers)
    assert bad.status_code == 422 and bad.get_json()["message"] == "limit must be between 1 and 100."


def test_idempotency_claim_cut_short_answers_from_the_message(app, client, connected_instance, db):
    instance, _, headers = connected_instance
    first = client.post(
        "/api/whatsapp/messages/send",
        headers={**headers, "Idempotency-Key": "k1"},
        json={"phone_number": "+201234567890", "text": "once"},
    ).get_json()
    # Simulate a web process that died after queueing: the answer was never stored, the claim is old.
    db.execute(
        "UPDATE idempotency_keys SET status_code = NULL, response = NULL, created_at = ? WHERE key = 'k1'",
        [_minutes_ago(5)],
    )
    db.conn.commit()
    again = client.post(
        "/api/whatsapp/messages/send",
        headers={**headers, "Idempotency-Key": "k1"},
        json={"phone_number": "+201234567890", "text": "once"},
    )
    assert again.status_code == 200 and again.get_json() == first
    assert len(outbox(client, headers)) == 1


def test_idempotency_claim_cut_short_before_queueing_is_taken_over(client, connected_instance, db):
    instance, _, headers = connected_instance
    db.execute(
        "INSERT INTO idempotency_keys (instance_id, key, request_hash, created_at) VALUES (?, 'k2', ?, ?)",
        [instance["id"], _fingerprint({"phone_number": "+201234567890", "text": "hi"}), _minutes_ago(5)],
    )
    db.conn.commit()
    response = client.post(
        "/api/whatsapp/messages/send",
        headers={**headers, "Idempotency-Key": "k2"},
        json={"phone_number": "+201234567890", "text": "hi"},
    )
    assert response.status_code == 200
    assert [m["text"] for m in outbox(client, headers)] == ["hi"]


def test_idempotency_request_overtaken_by_a_retry_cannot_send(client, connected_instance, db):
    from megamsg.store import idempotency

    instance, _, headers = connected_instance
    body = {"phone_number": "+201234567890", "text": "hi"}
    # Request A claims the key, then spends longer than stale_after downloading its media...
    slow = idempotency.begin(db, instance["id"], "k3", _fingerprint(body), wait_seconds=1, stale_after=90)
    assert isinstance(slow, str)
    old_claim = _minutes_ago(5)
    db.execute("UPDATE idempotency_keys SET created_at = ? WHERE key = 'k3'", [old_claim])
    db.conn.commit()
    # ...so its client's retry B takes the key over and sends.
    retry = client.post(
        "/api/whatsapp/messages/send", headers={**headers, "Idempotency-Key": "k3"}, json=body
    )
    assert retry.status_code == 200
    # A must now neither send nor disturb B's stored answer.
    with pytest.raises(idempotency.ClaimLost) as lost:
        idempotency.attach_message(db, instance["id"], "k3", old_claim, "A-message")
    assert lost.value.status == 409
    idempotency.abandon(db, instance["id"], "k3", old_claim)
    replay = client.post(
        "/api/whatsapp/messages/send", headers={**headers, "Idempotency-Key": "k3"}, json=body
    )
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_json() == retry.get_json()
    assert [m["text"] for m in outbox(client, headers)] == ["hi"]


def _minutes_ago(minutes: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="seconds")


def _fingerprint(body: dict) -> str:
    from megamsg.store.idempotency import request_fingerprint

    return request_fingerprint(body)


@pytest.mark.parametrize(
    "kind,extra,ignored",
    [
        ("audio", {"caption": "no captions on audio"}, ["caption"]),
        ("image", {"mime_type": "image/gif", "file_name": "a.gif"}, ["file_name", "mime_type"]),
        ("video", {"file_name": "clip.mp4", "captoin": "typo"}, ["captoin", "file_name"]),
    ],
)
def test_fields_that_do_not_apply_to_the_type_are_ignored_and_reported(
    client, connected_instance, samples, kind, extra, ignored
):
    _, _, headers = connected_instance
    media = base64.b64encode(samples[kind]).decode()
    response = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201234567890", "type": kind, "media": media, **extra},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["ignored_fields"] == ignored
    [sent] = outbox(client, headers)
    assert sent["caption"] is None and sent["file_name"] is None
    assert sent["mime_type"].split("/")[0] == kind


SSRF_MEDIA_URLS = [
    (
        "http://127.0.0.1:9/a.png",
        "media could not be downloaded: it resolves to a private address (127.0.0.1)",
    ),
    ("http://localhost:9/a.png", "media could not be downloaded: it resolves to a private address"),
    ("http://10.0.0.1/a.png", "media could not be downloaded: it resolves to a private address (10.0.0.1)"),
    (
        "http://169.254.169.254/latest/meta-data",
        "media could not be downloaded: it resolves to a link-local address (169.254.169.254)",
    ),
    ("http://[::1]:9/a.png", "media could not be downloaded: it resolves to a private address (::1)"),
    (
        "http://[::ffff:127.0.0.1]:9/a.png",
        "media could not be downloaded: it resolves to a private address (127.0.0.1)",
    ),
    ("file:///etc/passwd", "media must be an http(s) URL or base64 data"),
    ("ftp://example.com/a.png", "media must be an http(s) URL or base64 data"),
]


def test_send_refuses_media_urls_on_private_addresses_and_changes_nothing(client, connected_instance, db):
    instance, _, headers = connected_instance
    for url, message in SSRF_MEDIA_URLS:
        response = client.post(
            "/api/whatsapp/messages/send",
            headers=headers,
            json={"phone_number": "+201234567890", "type": "image", "media": url},
        )
        assert response.status_code == 422, url
        assert response.get_json()["ok"] is False
        assert response.get_json()["message"].startswith(message), (url, response.get_json())
    assert outbox(client, headers) == []
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0


def test_a_send_that_started_but_outlasts_the_timeout_is_502_then_recorded_sent(
    app, client, connected_instance
):
    _, _, headers = connected_instance
    timeout = app.config["SEND_TIMEOUT"]
    armed = client.post("/api/simulator/delay-next", headers=headers, json={"seconds": timeout + 2})
    assert armed.status_code == 200
    response = client.post(
        "/api/whatsapp/messages/send", headers=headers, json={"phone_number": "+201234567890", "text": "slow"}
    )
    assert response.status_code == 502
    body = response.get_json()
    # It had reached the session, so it could not be cancelled: the answer says it may still go out.
    assert body["message"] == (
        f"WhatsApp session did not confirm within {timeout:g} seconds; the message may still be sent "
        f"(check GET /api/whatsapp/messages/{body['id']})."
    )

    def logged() -> dict:
        return client.get(f"/api/whatsapp/messages/{body['id']}", headers=headers).get_json()["message"]

    assert logged()["status"] == "failed"
    wait_for(lambda: logged()["status"] == "sent", 15, what="the late send to be recorded")
    assert [step["status"] for step in logged()["history"]] == ["queued", "failed", "sent"]
    assert [m["text"] for m in outbox(client, headers)] == ["slow"]
