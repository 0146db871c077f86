"""Issue 11 item 7: redeliver a range of an instance's webhook events, in order, by API and dashboard."""

import json
from datetime import UTC, datetime

import pytest

from megamsg.delivery.webhook_config import rotate_secret, set_webhook
from megamsg.delivery.webhooks import record_event
from megamsg.store import webhook_events
from megamsg.store.webhook_events import get_event
from tests.conftest import auth_headers, csrf_from, login, wait_for
from tests.webhook_support import WEBHOOK_TEST_CONFIG

REDELIVER = "/api/whatsapp/instance/webhook/redeliver"


@pytest.fixture
def config_overrides(config_overrides):
    return {**config_overrides, **WEBHOOK_TEST_CONFIG}


@pytest.fixture
def hooked(db, make_instance, scripted_receiver):
    """An instance with a webhook, and its API headers."""
    instance, token = make_instance()
    set_webhook(db, instance["id"], scripted_receiver.url)
    rotate_secret(db, instance["id"])
    return db["instances"].get(instance["id"]), auth_headers(instance["id"], token)


def failed_events(db, instance: dict, recorded_at: list[str]) -> list[str]:
    """Events that ran out of attempts, recorded at the given times (in sequence order)."""
    ids = []
    for n, when in enumerate(recorded_at):
        event_id = record_event(db, instance, "status", {"status": {"id": f"m{n}", "status": "read"}})
        webhook_events.finish(db, event_id, "failed", "HTTP 500")
        db.execute("UPDATE webhook_events SET created_at = ?, attempts = 3 WHERE id = ?", [when, event_id])
        ids.append(event_id)
    return ids


def statuses(db, ids: list[str]) -> list[str]:
    return [get_event(db, event_id)["status"] for event_id in ids]


TIMES = ["2026-05-01T10:00:00+00:00", "2026-05-02T10:00:00+00:00", "2026-05-02T11:00:00+00:00"]


@pytest.mark.parametrize(
    "body,field,says",
    [
        ({}, "since", "since is required"),
        ({"since": "yesterday"}, "since", "ISO 8601"),
        ({"since": "2026-05-02T10:00:00"}, "since", "UTC offset"),
        ({"since": True}, "since", "Unix seconds"),
        ({"since": -5}, "since", "between 0 and"),
        ({"since": 0, "until": "2026-13-01T00:00:00Z"}, "until", "real date"),
        ({"since": 0, "status": "pending"}, "status", "failed, stopped, skipped, delivered"),
        ({"since": 0, "limit": 501}, "limit", "between 1 and 500"),
        ({"since": 0, "limit": "ten"}, "limit", "integer"),
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(client, db, hooked, body, field, says):
    instance, headers = hooked
    ids = failed_events(db, instance, TIMES)
    answer = client.post(REDELIVER, headers=headers, json=body)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json() == {"ok": False, "message": answer.get_json()["message"]}
    assert answer.get_json()["message"].startswith(field) and says in answer.get_json()["message"]
    assert statuses(db, ids) == ["failed"] * 3


def test_without_a_webhook_url_it_is_a_409(client, db, make_instance):
    instance, token = make_instance()
    ids = failed_events(db, instance, TIMES)
    answer = client.post(REDELIVER, headers=auth_headers(instance["id"], token), json={"since": 0})
    assert answer.status_code == 409
    assert answer.get_json() == {
        "ok": False,
        "message": "No webhook URL is set: set one first, then redeliver.",
    }
    assert statuses(db, ids) == ["failed"] * 3


def test_only_the_range_and_status_asked_for_are_restarted(client, db, hooked):
    instance, headers = hooked
    ids = failed_events(db, instance, TIMES)
    delivered = record_event(db, instance, "status", {"status": {"id": "ok", "status": "read"}})
    webhook_events.finish(db, delivered, "delivered", None)
    since = int(datetime(2026, 5, 2, 10, tzinfo=UTC).timestamp())  # Unix seconds, inclusive
    answer = client.post(
        REDELIVER, headers=headers, json={"since": since, "until": "2026-05-02T12:00:00+01:00"}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    # until 11:00 UTC (inclusive): the first event is before the range, the delivered one not failed.
    assert answer.get_json() == {"ok": True, "count": 2, "event_ids": ids[1:], "remaining": 0}
    assert statuses(db, [ids[0], delivered]) == ["failed", "delivered"]
    assert [get_event(db, event_id)["attempts"] for event_id in ids[1:]] == [0, 0]


def test_the_limit_is_explicit_and_a_second_call_sends_the_rest(client, db, hooked):
    instance, headers = hooked
    ids = failed_events(db, instance, TIMES)
    first = client.post(
        REDELIVER, headers=headers, json={"since": "2026-05-01T00:00:00Z", "limit": 2}
    ).get_json()
    assert (first["count"], first["event_ids"], first["remaining"]) == (2, ids[:2], 1)
    second = client.post(
        REDELIVER, headers=headers, json={"since": "2026-05-01T00:00:00Z", "limit": 2}
    ).get_json()
    assert (second["count"], second["event_ids"], second["remaining"]) == (1, ids[2:], 0)


def test_redelivered_events_reach_the_receiver_in_sequence_order_with_fresh_rounds(
    client, db, hooked, scripted_receiver, queue_workers
):
    instance, headers = hooked
    ids = failed_events(db, instance, [TIMES[2], TIMES[0], TIMES[1]])  # recorded out of time order
    answer = client.post(REDELIVER, headers=headers, json={"since": 0})
    assert answer.get_json()["event_ids"] == ids  # by sequence, not by time
    queue_workers.start()
    wait_for(lambda: scripted_receiver.count() == 3, 20, what="three redeliveries")
    assert [r["headers"]["webhook-id"] for r in scripted_receiver.requests] == ids
    assert [json.loads(r["body"])["sequence"] for r in scripted_receiver.requests] == [1, 2, 3]
    wait_for(lambda: statuses(db, ids) == ["delivered"] * 3, 10, what="all delivered")
    assert [get_event(db, event_id)["attempts"] for event_id in ids] == [1, 1, 1]


# --- the dashboard's button ------------------------------------------------------------------------


def test_the_dashboard_asks_first_then_redelivers_the_failed_events_of_the_period(client, db, hooked):
    instance, _ = hooked
    now = datetime.now(UTC).isoformat(timespec="seconds")
    ids = failed_events(db, instance, [TIMES[0], now, now])  # one long ago, two just now
    login(client, "owner@example.com")
    page = client.get(f"/instances/{instance['id']}/webhooks").get_data(as_text=True)
    assert 'id="redeliver-failed"' in page and "Redeliver failed events…" in page

    url = f"/instances/{instance['id']}/webhooks/redeliver-failed?hours=24"
    asked = client.get(url)
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert "Redeliver 2 failed events?" in html and 'name="confirmed" value="yes"' in html
    assert statuses(db, ids) == ["failed"] * 3  # asking changes nothing

    csrf = csrf_from(html)
    unconfirmed = client.post(url, data={"csrf_token": csrf})
    assert unconfirmed.status_code == 303 and unconfirmed.headers["Location"] == url
    assert client.post(url, data={"confirmed": "yes"}).status_code == 400  # no CSRF token
    assert statuses(db, ids) == ["failed"] * 3

    done = client.post(url, data={"csrf_token": csrf, "confirmed": "yes"}, follow_redirects=True)
    assert "Redelivery queued for 2 failed events." in done.get_data(as_text=True)
    assert statuses(db, ids) == ["failed", "pending", "pending"]


def test_another_users_instance_is_a_404(client, db, make_instance, make_user):
    instance, _ = make_instance(owner_email="someone@example.com")
    make_user("other@example.com")
    login(client, "other@example.com")
    assert client.get(f"/instances/{instance['id']}/webhooks/redeliver-failed").status_code == 404
