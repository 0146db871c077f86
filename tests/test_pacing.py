"""Per-instance pacing through the real stack: settings, paced async sends, 429 for a sync send that cannot wait."""

import threading
from datetime import UTC, datetime

import pytest

from megamsg.web import create_app
from tests.conftest import auth_headers, outbox, wait_for


def put_settings(client, headers, **fields):
    return client.put("/api/whatsapp/instance/settings", headers=headers, json=fields)


def test_settings_are_shown_with_the_queue_and_null_returns_to_the_default(app, client, make_instance):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    before = client.get("/api/whatsapp/instance", headers=headers).get_json()
    assert (before["min_interval_ms"], before["jitter_ms"]) == (app.config["MIN_INTERVAL_MS"], 0)
    assert before["queue_depth"] == 0 and before["scheduled"] == 0

    answer = put_settings(client, headers, min_interval_ms=750, jitter_ms=250)
    assert answer.status_code == 200
    assert answer.get_json() == {"ok": True, "min_interval_ms": 750, "jitter_ms": 250}
    shown = client.get("/api/whatsapp/instance", headers=headers).get_json()
    assert (shown["min_interval_ms"], shown["jitter_ms"]) == (750, 250)

    assert put_settings(client, headers, jitter_ms=None).get_json()["jitter_ms"] == 0
    assert put_settings(client, headers, min_interval_ms=None).get_json()["min_interval_ms"] == 0
    assert client.get("/api/whatsapp/instance", headers=headers).get_json()["min_interval_ms"] == 0


@pytest.mark.parametrize(
    "body, field",
    [
        ({"min_interval_ms": -1}, "min_interval_ms"),
        ({"min_interval_ms": 60_001}, "min_interval_ms"),
        ({"min_interval_ms": 1.5}, "min_interval_ms"),
        ({"min_interval_ms": "500"}, "min_interval_ms"),
        ({"jitter_ms": -5}, "jitter_ms"),
        ({"jitter_ms": 10**9}, "jitter_ms"),
        ({"jitter_ms": True}, "jitter_ms"),
        ({}, "min_interval_ms"),
        ({"other": 1}, "min_interval_ms"),
    ],
)
def test_settings_out_of_range_are_422_naming_the_field_and_change_nothing(
    client, make_instance, body, field
):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    put_settings(client, headers, min_interval_ms=300, jitter_ms=100)
    answer = put_settings(client, headers, **body)
    assert answer.status_code == 422
    assert field in answer.get_json()["message"]
    shown = client.get("/api/whatsapp/instance", headers=headers).get_json()
    assert (shown["min_interval_ms"], shown["jitter_ms"]) == (300, 100)


def test_settings_need_the_instance_credentials(client, make_instance):
    instance, _ = make_instance()
    answer = put_settings(client, auth_headers(instance["id"], "0" * 64), min_interval_ms=100)
    assert answer.status_code == 401


def departures(client, headers, texts):
    """The outbox entries of these texts, in the order the network got them."""
    wanted = set(texts)
    return [entry for entry in outbox(client, headers) if entry["text"] in wanted]


def test_twenty_async_sends_leave_at_least_the_interval_apart_in_order(client, connected_instance):
    _, _, headers = connected_instance
    assert put_settings(client, headers, min_interval_ms=200, jitter_ms=0).status_code == 200
    texts = [f"paced {n}" for n in range(20)]
    for text in texts:
        answer = client.post(
            "/api/whatsapp/messages/send",
            headers=headers,
            json={"phone_number": "+201234567890", "text": text, "async": True},
        )
        assert answer.status_code == 202, answer.get_data(as_text=True)
    assert client.get("/api/whatsapp/instance", headers=headers).get_json()["queue_depth"] > 0

    sent = wait_for(
        lambda: len(departures(client, headers, texts)) == 20 and departures(client, headers, texts), 30
    )
    assert [entry["text"] for entry in sent] == texts
    gaps = [later["sent_at"] - earlier["sent_at"] for earlier, later in zip(sent, sent[1:], strict=False)]
    assert min(gaps) >= 0.2, gaps


def test_concurrent_sends_from_two_web_workers_stay_paced(config_overrides, client, connected_instance):
    _, _, headers = connected_instance
    put_settings(client, headers, min_interval_ms=200, jitter_ms=50)
    workers = [create_app(config_overrides).test_client() for _ in range(2)]
    texts = [f"worker {w} message {n}" for w in range(2) for n in range(6)]
    answers: list[int] = []

    def send_all(worker, mine):
        for text in mine:
            answer = worker.post(
                "/api/whatsapp/messages/send",
                headers=headers,
                json={"phone_number": "+201234567890", "text": text, "async": True},
            )
            answers.append(answer.status_code)

    threads = [
        threading.Thread(target=send_all, args=(worker, texts[w * 6 : (w + 1) * 6]))
        for w, worker in enumerate(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [202] * 12
    sent = wait_for(
        lambda: len(departures(client, headers, texts)) == 12 and departures(client, headers, texts), 30
    )
    times = sorted(entry["sent_at"] for entry in sent)
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.2


def test_a_sync_send_behind_a_long_paced_queue_is_429_and_never_sent(app, client, connected_instance, db):
    _, _, headers = connected_instance
    put_settings(client, headers, min_interval_ms=2000, jitter_ms=0)
    queued = []
    for n in range(4):
        answer = client.post(
            "/api/whatsapp/messages/send",
            headers=headers,
            json={"phone_number": "+201234567890", "text": f"ahead {n}", "async": True},
        )
        queued.append(answer.get_json()["id"])
    # Turns at 0, 2, 4, 6 s: the next is 8 s away, past the 5 s a sync send waits.
    answer = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201234567890", "text": "too late"},
    )
    assert answer.status_code == 429, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["ok"] is False and "async" in body["message"]
    assert 1 <= int(answer.headers["Retry-After"]) <= 8
    assert db.execute("SELECT count(*) FROM messages WHERE text = 'too late'").fetchone()[0] == 0

    for message_id in queued[1:]:  # the queue drains at once: nothing is left that could send it
        client.delete(f"/api/whatsapp/messages/{message_id}", headers=headers)
    wait_for(lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["queue_depth"] == 0, 15)
    wait_for(lambda: departures(client, headers, ["ahead 0"]), 10)
    assert not departures(client, headers, ["too late", "ahead 1", "ahead 2", "ahead 3"])


def test_a_sync_send_within_its_turn_waits_and_is_sent(client, connected_instance):
    _, _, headers = connected_instance
    put_settings(client, headers, min_interval_ms=1500, jitter_ms=0)
    started = datetime.now(UTC)
    for text in ("first", "second"):
        answer = client.post(
            "/api/whatsapp/messages/send",
            headers=headers,
            json={"phone_number": "+201234567890", "text": text},
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
    first, second = departures(client, headers, ["first", "second"])
    assert second["sent_at"] - first["sent_at"] >= 1.5
    assert (datetime.now(UTC) - started).total_seconds() < 5
