"""Scheduled sends and cancellation through the real stack with the simulator."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import auth_headers, outbox, wait_for

PHONE = "+201234567890"


def iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).astimezone().isoformat(timespec="milliseconds")


def schedule(client, headers, text, seconds, **extra):
    return client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": PHONE, "text": text, "send_at": iso_in(seconds), **extra},
    )


def in_outbox(client, headers, message_id):
    return [entry for entry in outbox(client, headers) if entry["id"] == message_id]


def status_events(db, message_id):
    rows = db.execute("SELECT payload FROM webhook_events WHERE kind = 'status'").fetchall()
    payloads = [json.loads(row[0]) for row in rows]
    return [p["status"]["status"] for p in payloads if p["status"]["id"] == message_id]


def test_a_message_scheduled_three_seconds_ahead_is_sent_within_a_second_of_its_time(
    client, connected_instance, db
):
    _, _, headers = connected_instance
    answer = schedule(client, headers, "see you at three", 3)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["status"] == "scheduled" and body["ok"] is True
    send_at = datetime.fromisoformat(body["send_at"])
    listed = client.get("/api/whatsapp/messages?status=scheduled", headers=headers).get_json()["messages"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert client.get("/api/whatsapp/instance", headers=headers).get_json()["scheduled"] == 1

    (entry,) = wait_for(lambda: in_outbox(client, headers, body["id"]), 10)
    late = entry["sent_at"] - send_at.timestamp()
    assert 0 <= late <= 1.0, late
    message = client.get(f"/api/whatsapp/messages/{body['id']}", headers=headers).get_json()["message"]
    wait_for(
        lambda: (
            client.get(f"/api/whatsapp/messages/{body['id']}", headers=headers).get_json()["message"][
                "status"
            ]
            == "sent"
        ),
        10,
    )
    assert [step["status"] for step in message["history"]][:2] == ["scheduled", "queued"]
    wait_for(lambda: status_events(db, body["id"]) == ["sent"], 10, what="the sent status webhook")
    assert client.get("/api/whatsapp/messages?status=scheduled", headers=headers).get_json()["messages"] == []


def test_a_cancelled_message_is_never_sent_and_says_so_once(client, connected_instance, db):
    _, _, headers = connected_instance
    doomed = schedule(client, headers, "never", 1.5).get_json()["id"]
    sentinel = schedule(client, headers, "after it", 2.5).get_json()["id"]

    answer = client.delete(f"/api/whatsapp/messages/{doomed}", headers=headers)
    assert answer.status_code == 200
    assert answer.get_json() == {"ok": True, "id": doomed, "status": "cancelled"}
    again = client.delete(f"/api/whatsapp/messages/{doomed}", headers=headers)
    assert again.status_code == 409 and "cancelled" in again.get_json()["message"]

    wait_for(lambda: in_outbox(client, headers, sentinel), 10, what="the later message to go out")
    assert not in_outbox(client, headers, doomed)
    message = client.get(f"/api/whatsapp/messages/{doomed}", headers=headers).get_json()["message"]
    assert message["status"] == "cancelled"
    assert [step["status"] for step in message["history"]] == ["scheduled", "cancelled"]
    assert status_events(db, doomed) == ["cancelled"]
    listed = client.get("/api/whatsapp/messages?status=cancelled", headers=headers).get_json()["messages"]
    assert [row["id"] for row in listed] == [doomed]


def test_cancelling_a_sent_message_is_409_and_an_unknown_one_404(client, connected_instance):
    _, _, headers = connected_instance
    sent = client.post(
        "/api/whatsapp/messages/send", headers=headers, json={"phone_number": PHONE, "text": "done"}
    )
    assert sent.status_code == 200
    answer = client.delete(f"/api/whatsapp/messages/{sent.get_json()['id']}", headers=headers)
    assert answer.status_code == 409 and "sent" in answer.get_json()["message"]
    assert (
        client.get(f"/api/whatsapp/messages/{sent.get_json()['id']}", headers=headers).get_json()["message"][
            "status"
        ]
        == "sent"
    )
    assert client.delete("/api/whatsapp/messages/nope", headers=headers).status_code == 404


def test_a_queued_message_can_be_cancelled_while_it_waits_its_turn(client, connected_instance):
    _, _, headers = connected_instance
    client.put("/api/whatsapp/instance/settings", headers=headers, json={"min_interval_ms": 3000})
    ids = [
        client.post(
            "/api/whatsapp/messages/send",
            headers=headers,
            json={"phone_number": PHONE, "text": f"q{n}", "async": True},
        ).get_json()["id"]
        for n in range(2)
    ]
    listed = client.get("/api/whatsapp/messages?status=queued", headers=headers).get_json()["messages"]
    assert ids[1] in [row["id"] for row in listed]
    assert client.delete(f"/api/whatsapp/messages/{ids[1]}", headers=headers).status_code == 200
    wait_for(lambda: in_outbox(client, headers, ids[0]), 10)
    wait_for(lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["queue_depth"] == 0, 10)
    assert not in_outbox(client, headers, ids[1])


@pytest.mark.parametrize(
    "send_at, words",
    [
        ("2020-01-01T00:00:00+00:00", "in the future"),
        ((datetime.now(UTC) - timedelta(seconds=5)).isoformat(), "in the future"),
        ((datetime.now(UTC) + timedelta(days=31)).isoformat(), "at most 30 days"),
        ("2030-01-01T10:00:00", "UTC offset"),
        ("2030-01-01", "ISO 8601"),
        ("tomorrow at noon", "ISO 8601"),
        ("2030-02-30T10:00:00+00:00", "real date"),
        (1893456000, "must be a string"),
        (True, "must be a string"),
        (["2030-01-01T10:00:00Z"], "must be a string"),
    ],
)
def test_bad_send_at_is_422_naming_the_field_and_records_nothing(client, make_instance, db, send_at, words):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    answer = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": PHONE, "text": "hi", "send_at": send_at},
    )
    assert answer.status_code == 422, answer.get_data(as_text=True)
    message = answer.get_json()["message"]
    assert message.startswith("send_at") and words in message, message
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0


def test_a_message_can_be_scheduled_while_the_session_is_not_linked(client, make_instance):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    answer = schedule(client, headers, "later", 3600, type="text")
    assert answer.status_code == 202
    assert client.get("/api/whatsapp/messages?status=scheduled", headers=headers).get_json()["messages"][0][
        "send_at"
    ]


def test_the_status_filter_is_checked(client, make_instance):
    instance, token = make_instance()
    answer = client.get("/api/whatsapp/messages?status=pending", headers=auth_headers(instance["id"], token))
    assert answer.status_code == 422 and "status" in answer.get_json()["message"]


def test_the_sweeper_leaves_a_message_alone_until_long_after_its_due_time(app, db, make_instance):
    from megamsg.clock import iso_ago
    from megamsg.delivery.sweeper import STUCK_MESSAGE_SECONDS, finish_stuck_messages
    from megamsg.store import message_log

    instance, _ = make_instance()
    old = iso_ago(STUCK_MESSAGE_SECONDS + 3600)
    fields = {"peer": PHONE, "type": "text", "text": "long queue"}
    paced = message_log.create_outgoing(db, instance["id"], {**fields, "due_at": iso_ago(60)})
    stuck = message_log.create_outgoing(db, instance["id"], {**fields, "due_at": old})
    db.execute("UPDATE messages SET created_at = ?", [old])
    db.conn.commit()
    assert finish_stuck_messages(app.config) == 1
    assert message_log.get_message(db, instance["id"], paced["id"])["status"] == "queued"
    assert message_log.get_message(db, instance["id"], stuck["id"])["status"] == "failed"
