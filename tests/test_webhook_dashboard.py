"""Dashboard webhook pages: settings, secret reveal/rotate, test event, deliveries, redelivery, access."""

import html
import re

import pytest

from megamsg.delivery.webhook_config import set_webhook
from megamsg.delivery.webhooks import record_event
from megamsg.store.webhook_events import list_attempts, record_attempt
from tests.conftest import csrf_from, login
from tests.test_webhook_delivery import wait_status
from tests.webhook_support import WEBHOOK_TEST_CONFIG, verify_signature


@pytest.fixture
def config_overrides(config_overrides):
    """Short backoff and timeout."""
    return {**config_overrides, **WEBHOOK_TEST_CONFIG}


@pytest.fixture
def owned(client, make_instance):
    """An instance whose owner is logged in."""
    instance, _ = make_instance(owner_email="owner@example.com")
    login(client, "owner@example.com")
    return instance


def page(client, instance_id: str, suffix: str = "") -> str:
    answer = client.get(f"/instances/{instance_id}/webhooks{suffix}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def post(client, instance_id: str, suffix: str, data: dict | None = None, csrf: str | None = None):
    token = csrf or csrf_from(page(client, instance_id))
    return client.post(
        f"/instances/{instance_id}/webhooks{suffix}", data={"csrf_token": token, **(data or {})}
    )


def shown_secret(html: str) -> str:
    return re.search(r'id="webhook-secret">([^<]+)<', html).group(1)


def test_secret_hidden_until_revealed_and_rotation_issues_a_new_one(client, db, owned):
    secret = owned["webhook_secret"]
    settings_path = f"/instances/{owned['id']}/webhooks"
    assert secret not in page(client, owned["id"])

    # Post/redirect/get: the secret is shown on the settings page itself, once, never in a URL.
    revealed = post(client, owned["id"], "/reveal")
    assert revealed.status_code == 302 and revealed.headers["Location"] == settings_path
    shown = client.get(settings_path)
    assert shown.headers["Cache-Control"] == "no-store"
    assert shown_secret(shown.get_data(as_text=True)) == secret
    assert secret not in page(client, owned["id"])  # a reload hides it again
    assert client.get(settings_path + "/reveal").headers["Location"] == settings_path  # no 404

    rotated = post(client, owned["id"], "/rotate")
    assert rotated.status_code == 302 and rotated.headers["Location"] == settings_path
    after = client.get(settings_path)
    assert after.headers["Cache-Control"] == "no-store"
    new = shown_secret(after.get_data(as_text=True))
    assert new != secret and new.startswith("whsec_")
    assert db["instances"].get(owned["id"])["webhook_secret"] == new
    assert new not in page(client, owned["id"])
    assert client.get(settings_path + "/rotate").status_code == 302  # a GET rotates nothing
    assert db["instances"].get(owned["id"])["webhook_secret"] == new


def test_a_reveal_shows_only_the_instance_it_was_asked_for(client, owned, make_instance):
    other, _ = make_instance("Other", owner_email="owner@example.com")
    post(client, owned["id"], "/reveal")
    assert other["webhook_secret"] not in page(client, other["id"])
    assert owned["webhook_secret"] not in page(client, owned["id"])  # the one-time flag was used up


def test_forms_need_a_csrf_token(client, db, owned):
    answer = client.post(f"/instances/{owned['id']}/webhooks/rotate", data={})
    assert answer.status_code == 400
    assert db["instances"].get(owned["id"])["webhook_secret"] == owned["webhook_secret"]


def test_settings_form_saves_validates_and_clears(client, db, owned):
    saved = post(
        client, owned["id"], "", {"url": "https://example.com/hook", "events": ["message", "session"]}
    )
    assert saved.status_code == 302
    row = db["instances"].get(owned["id"])
    assert row["webhook_url"] == "https://example.com/hook"
    html = page(client, owned["id"])
    assert 'value="https://example.com/hook"' in html
    assert 'value="message" checked' in html and 'value="status">' in html

    bad = post(client, owned["id"], "", {"url": "ftp://example.com/hook"})
    assert bad.status_code == 422
    assert "url must be" in bad.get_data(as_text=True)
    assert db["instances"].get(owned["id"])["webhook_url"] == "https://example.com/hook"

    metadata = post(client, owned["id"], "", {"url": "http://169.254.169.254/latest"})
    assert metadata.status_code == 422
    assert "url is refused: it resolves to a link-local address" in metadata.get_data(as_text=True)
    assert db["instances"].get(owned["id"])["webhook_url"] == "https://example.com/hook"

    assert post(client, owned["id"], "", {"url": ""}).status_code == 302
    assert db["instances"].get(owned["id"])["webhook_url"] is None


def test_test_event_is_delivered_and_listed_and_can_be_redelivered(
    app, client, db, owned, scripted_receiver, queue_workers
):
    queue_workers.start()
    assert (
        post(client, owned["id"], "", {"url": scripted_receiver.url, "events": ["message"]}).status_code
        == 302
    )
    post(client, owned["id"], "/rotate")
    secret = shown_secret(page(client, owned["id"]))

    sent = post(client, owned["id"], "/test")
    assert sent.status_code == 302
    event_id = sent.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    wait_status(app, event_id, "delivered")
    [request] = scripted_receiver.requests
    body = verify_signature(secret, request)
    assert body["type"] == "test" and body["test"]["instance_id"] == owned["id"]
    assert request["headers"]["webhook-id"] == event_id

    listing = page(client, owned["id"])
    row = re.search(rf'<tr data-event="{event_id}"[^>]*>(.*?)</tr>', listing, re.S).group(1)
    assert "test" in row and "delivered" in row and "200" in row

    detail = page(client, owned["id"], f"/{event_id}")
    assert '"type": "test"' in html.unescape(detail)  # pretty-printed payload
    assert re.search(r"<td>1</td>\s*<td>[^<]+</td>\s*<td>200</td>", detail)

    scripted_receiver.answer(default=410)
    again = post(client, owned["id"], f"/{event_id}/redeliver", csrf=csrf_from(detail))
    assert again.status_code == 302
    wait_status(app, event_id, "stopped")
    assert scripted_receiver.count() == 2
    assert scripted_receiver.requests[1]["headers"]["webhook-id"] == event_id
    assert scripted_receiver.requests[1]["body"] == request["body"]
    assert [a["status_code"] for a in list_attempts(db, event_id)] == [200, 410]
    assert "410 Gone" in page(client, owned["id"], f"/{event_id}")


def test_test_event_without_url_is_recorded_as_skipped(client, db, owned):
    sent = post(client, owned["id"], "/test")
    assert sent.status_code == 302
    detail = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "skipped" in detail and "Set a webhook URL first" in detail


def test_redeliver_of_an_event_still_in_progress_is_refused(app, client, db, owned):
    set_webhook(db, owned["id"], "https://example.com/hook")
    event_id = record_event(db, db["instances"].get(owned["id"]), "message", {"message": {}})
    answer = post(client, owned["id"], f"/{event_id}/redeliver")
    assert "still being delivered" in client.get(answer.headers["Location"]).get_data(as_text=True)
    assert list_attempts(db, event_id) == []


def test_deliveries_are_listed_newest_first_and_paginated(client, db, owned):
    set_webhook(db, owned["id"], "https://example.com/hook")  # else every event is skipped, and hidden
    instance = db["instances"].get(owned["id"])
    ids = [record_event(db, instance, "message", {"message": {"text": str(n)}}) for n in range(25)]
    first = page(client, owned["id"])
    listed = re.findall(r'<tr data-event="([^"]+)"', first)
    assert listed == ids[::-1][:20]
    assert "?page=2" in first and "Newer" not in first
    second = page(client, owned["id"], "?page=2")
    assert re.findall(r'<tr data-event="([^"]+)"', second) == ids[::-1][20:]
    assert "Newer" in second and "?page=3" not in second


def test_skipped_events_are_hidden_unless_asked_for_and_pages_keep_the_choice(client, db, owned):
    skipped = [record_event(db, owned, "message", {"message": {"text": str(n)}}) for n in range(21)]
    set_webhook(db, owned["id"], "https://example.com/hook", ["status"])
    instance = db["instances"].get(owned["id"])
    sent = record_event(db, instance, "status", {"status": {}})
    not_chosen = record_event(db, instance, "message", {"message": {"text": "not chosen"}})

    listing = page(client, owned["id"])
    assert re.findall(r'<tr data-event="([^"]+)"', listing) == [sent]
    assert "22 events were recorded but not sent" in listing
    assert "?skipped=1" in listing and "Older" not in listing

    everything = page(client, owned["id"], "?skipped=1")
    shown = re.findall(r'<tr data-event="([^"]+)"', everything)
    assert shown == [not_chosen, sent, *skipped[::-1][:18]]
    assert "Hide skipped events" in everything
    assert "page=2&amp;skipped=1" in everything  # the next page shows them too
    second = re.findall(r'<tr data-event="([^"]+)"', page(client, owned["id"], "?page=2&skipped=1"))
    assert second == skipped[::-1][18:]


def test_the_pages_poll_json_with_each_event_state_and_attempts(client, db, owned, make_instance):
    set_webhook(db, owned["id"], "https://example.com/hook")
    instance = db["instances"].get(owned["id"])
    pending = record_event(db, instance, "message", {"message": {}})
    other, _ = make_instance("Theirs", owner_email="other@example.com")
    foreign = record_event(db, other, "message", {"message": {}})
    record_attempt(
        db,
        pending,
        1,
        "https://example.com/hook",
        "pending",
        status_code=503,
        error="503 Service Unavailable",
        duration_ms=12,
        excerpt="busy",
    )

    listing = client.get(f"/instances/{owned['id']}/webhooks/status?id={pending}&id={foreign}&id=msg_nope")
    assert listing.headers["Cache-Control"] == "no-store"
    [event] = listing.get_json()["events"]  # only this instance's events
    assert event["id"] == pending and event["status"] == "pending" and event["final"] is False
    assert event["attempts"] == 1 and event["last_status_code"] == 503

    detail = client.get(f"/instances/{owned['id']}/webhooks/{pending}/status").get_json()
    assert detail["attempts_list"] == [
        {
            "attempt": 1,
            "at": detail["attempts_list"][0]["at"],
            "status_code": 503,
            "duration_ms": 12,
            "error": "503 Service Unavailable",
            "response_excerpt": "busy",
        }
    ]
    assert client.get(f"/instances/{owned['id']}/webhooks/{foreign}/status").status_code == 404


ROUTES = [
    ("get", ""),
    ("get", "/{event}"),
    ("get", "/status?id={event}"),
    ("get", "/{event}/status"),
    ("post", ""),
    ("post", "/reveal"),
    ("post", "/rotate"),
    ("post", "/test"),
    ("post", "/{event}/redeliver"),
]


def visit_all(client, instance_id: str, event_id: str) -> dict[str, int]:
    """Status code of every webhook route for the logged-in user."""
    csrf = csrf_from(client.get("/instances").get_data(as_text=True))
    codes = {}
    for method, suffix in ROUTES:
        path = f"/instances/{instance_id}/webhooks" + suffix.format(event=event_id)
        answer = client.get(path) if method == "get" else client.post(path, data={"csrf_token": csrf})
        codes[f"{method.upper()} {suffix or '/'}"] = answer.status_code
    return codes


def test_other_users_get_404_and_admins_see_everything(client, db, make_instance, make_user):
    instance, _ = make_instance(owner_email="owner@example.com")
    event_id = record_event(db, instance, "message", {"message": {}})

    make_user("intruder@example.com")
    login(client, "intruder@example.com")
    assert set(visit_all(client, instance["id"], event_id).values()) == {404}
    assert db["instances"].get(instance["id"])["webhook_secret"] == instance["webhook_secret"]
    assert db["webhook_events"].count == 1

    make_user("admin@example.com", is_admin=True)
    login(client, "admin@example.com")
    codes = visit_all(client, instance["id"], event_id)
    assert all(code in (200, 302) for code in codes.values()), codes


def test_event_of_another_instance_is_404(client, db, owned, make_instance):
    other, _ = make_instance("Other", owner_email="owner@example.com")
    event_id = record_event(db, other, "message", {"message": {}})
    assert client.get(f"/instances/{owned['id']}/webhooks/{event_id}").status_code == 404
    assert client.get(f"/instances/{owned['id']}/webhooks/msg_nope").status_code == 404


def test_anonymous_visitors_are_sent_to_login(client, make_instance):
    instance, _ = make_instance()
    answer = client.get(f"/instances/{instance['id']}/webhooks")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
