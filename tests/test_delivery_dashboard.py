"""Delivery control in the dashboard (cancel with confirmation, the pacing form), the CLI and migration 7."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from megamsg.store import message_log
from megamsg.store.db import connect
from megamsg.store.instances import get_instance
from megamsg.store.migrations import apply_migrations
from tests.browser_pages import check_layout
from tests.conftest import csrf_from, login


def scheduled(db, instance, text, minutes=30):
    send_at = (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
    return message_log.create_outgoing(
        db,
        instance["id"],
        {"peer": "+201000000010", "type": "text", "text": text, "send_at": send_at, "due_at": send_at},
        status="scheduled",
    )


@pytest.fixture
def owner(client, make_instance):
    instance, _ = make_instance(owner_email="owner@example.com")
    login(client, "owner@example.com")
    return instance


def test_cancel_asks_first_then_cancels_and_redirects_back(client, db, owner):
    row = scheduled(db, owner, "Reminder: dentist at 10")
    listing = client.get(f"/instances/{owner['id']}/messages?status=scheduled").get_data(as_text=True)
    cancel_url = f"/instances/{owner['id']}/messages/{row['id']}/cancel?status=scheduled"
    assert cancel_url.replace("?", "?") in listing.replace("&amp;", "&") and "Cancel…" in listing

    asked = client.get(cancel_url)
    assert asked.status_code == 200 and "will not be sent" in asked.get_data(as_text=True)
    token = csrf_from(asked.get_data(as_text=True))
    unconfirmed = client.post(cancel_url, data={"csrf_token": token})
    assert (
        unconfirmed.status_code == 303
        and message_log.get_message(db, owner["id"], row["id"])["status"] == "scheduled"
    )

    done = client.post(cancel_url, data={"csrf_token": token, "confirmed": "yes"})
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/instances/{owner['id']}/messages?status=scheduled")
    assert message_log.get_message(db, owner["id"], row["id"])["status"] == "cancelled"
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "cancelled; it will not be sent" in page

    again = client.post(cancel_url, data={"csrf_token": token, "confirmed": "yes"})
    assert again.status_code == 303
    assert "Too late to cancel: the message is already cancelled" in client.get(
        again.headers["Location"]
    ).get_data(as_text=True)


def test_sent_rows_have_no_cancel_button_and_a_forged_post_changes_nothing(client, db, owner):
    row = message_log.create_outgoing(
        db, owner["id"], {"peer": "+201000000010", "type": "text", "text": "gone"}
    )
    message_log.set_status(db, row["id"], "sent", wa_id="WA1")
    assert "Cancel…" not in client.get(f"/instances/{owner['id']}/messages").get_data(as_text=True)
    token = csrf_from(client.get(f"/instances/{owner['id']}").get_data(as_text=True))
    client.post(
        f"/instances/{owner['id']}/messages/{row['id']}/cancel",
        data={"csrf_token": token, "confirmed": "yes"},
    )
    assert message_log.get_message(db, owner["id"], row["id"])["status"] == "sent"


def test_another_users_message_cannot_be_cancelled(client, db, owner, make_instance):
    other, _ = make_instance(name="Other", owner_email="other@example.com")
    row = scheduled(db, other, "not yours")
    assert client.get(f"/instances/{other['id']}/messages/{row['id']}/cancel").status_code == 404
    assert message_log.get_message(db, other["id"], row["id"])["status"] == "scheduled"


@pytest.mark.parametrize(
    "form, saved, says",
    [
        ({"min_interval_ms": "1500", "jitter_ms": "300"}, (1500, 300), "Pacing saved."),
        ({"min_interval_ms": "", "jitter_ms": ""}, (None, None), "Pacing saved."),
        ({"min_interval_ms": "-3", "jitter_ms": "0"}, (700, 70), "Minimum interval must be"),
        ({"min_interval_ms": "500", "jitter_ms": "9999999"}, (700, 70), "Jitter must be"),
        ({"min_interval_ms": "1e3", "jitter_ms": "0"}, (700, 70), "Minimum interval must be"),
    ],
)
def test_pacing_form(client, db, owner, form, saved, says):
    db.execute("UPDATE instances SET min_interval_ms = 700, jitter_ms = 70 WHERE id = ?", [owner["id"]])
    db.conn.commit()
    token = csrf_from(client.get(f"/instances/{owner['id']}").get_data(as_text=True))
    answer = client.post(f"/instances/{owner['id']}/pacing", data={"csrf_token": token, **form})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("#pacing")
    row = get_instance(db, owner["id"])
    assert (row["min_interval_ms"], row["jitter_ms"]) == saved
    assert says in client.get(f"/instances/{owner['id']}").get_data(as_text=True)


def test_cli_sets_pacing_and_refuses_out_of_range(app, db, make_instance):
    instance, _ = make_instance()
    run = app.test_cli_runner().invoke
    done = run(args=["megamsg", "instance", "set-pacing", instance["id"], "--min-interval-ms", "800"])
    assert done.exit_code == 0 and "min_interval_ms=800" in done.output
    assert get_instance(db, instance["id"])["min_interval_ms"] == 800
    refused = run(args=["megamsg", "instance", "set-pacing", instance["id"], "--jitter-ms", "-1"])
    assert refused.exit_code != 0 and get_instance(db, instance["id"])["jitter_ms"] is None
    assert run(args=["megamsg", "instance", "set-pacing", instance["id"]]).exit_code != 0
    reset = run(args=["megamsg", "instance", "set-pacing", instance["id"], "--default"])
    assert reset.exit_code == 0 and get_instance(db, instance["id"])["min_interval_ms"] is None


def test_migration_7_adds_the_columns_once(tmp_path):
    database = connect(str(tmp_path / "fresh.db"))
    try:
        assert 7 in apply_migrations(database)
        assert apply_migrations(database) == []
        assert {"min_interval_ms", "jitter_ms"} <= set(database["instances"].columns_dict)
        assert {"send_at", "due_at"} <= set(database["messages"].columns_dict)
    finally:
        database.conn.close()


def log_in(page, live_server):
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", "correct horse battery")
    with page.expect_navigation():
        page.click("main button[type=submit]")


def both_widths(page, name):
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        check_layout(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_in_chromium_a_scheduled_message_is_cancelled_from_the_list(
    page, log, live_server, db, make_instance
):
    instance, _ = make_instance(owner_email="owner@example.com")
    keep = scheduled(db, instance, "Weekly report goes out Monday", minutes=60)
    drop = scheduled(db, instance, "Sale starts tomorrow — 20% off everything in store", minutes=90)
    log_in(page, live_server)
    page.goto(f"{live_server}/instances/{instance['id']}/messages?status=scheduled")
    expect(page.locator("#messages tbody tr")).to_have_count(2)
    both_widths(page, "messages-scheduled")
    page.locator(f'tr[data-message="{drop["id"]}"] .cancel-message').click()
    expect(page.locator("h1")).to_have_text("Cancel this message?")
    both_widths(page, "messages-cancel-confirm")
    with page.expect_navigation():
        page.click("main button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("cancelled")
    expect(page.locator("#messages tbody tr")).to_have_count(1)
    assert message_log.get_message(db, instance["id"], drop["id"])["status"] == "cancelled"
    assert message_log.get_message(db, instance["id"], keep["id"])["status"] == "scheduled"
    page.goto(f"{live_server}/instances/{instance['id']}#pacing")
    page.fill("input[name=min_interval_ms]", "1200")
    with page.expect_navigation():
        page.click("#pacing button[type=submit]")
    expect(page.locator(".flash.ok")).to_contain_text("Pacing saved.")
    expect(page.locator("#pacing")).to_contain_text("one send every 1200 ms")
    both_widths(page, "instance-pacing")
    assert log.page_errors == [] and log.off_origin(live_server) == []
