"""Issue 10, instances overview: status in words, counts today, live JSON, "Reconnect now"."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from megamsg.store import message_log, message_stats
from megamsg.web.dashboard.status_words import describe
from tests.browser_pages import check_layout
from tests.conftest import PASSWORD, csrf_from, login, wait_for

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    "state, words, chip, can_reconnect",
    [
        (
            {"alive": False, "status": "not started"},
            "Not running — the worker is not serving it",
            "not-started",
            False,
        ),
        ({"alive": True, "status": "starting"}, "Starting…", "starting", False),
        ({"alive": True, "status": "qr"}, "Waiting for QR scan", "qr", False),
        ({"alive": True, "status": "connected", "last_error": ""}, "Connected", "connected", False),
        ({"alive": True, "status": "logged_out"}, "Logged out — link it again", "logged_out", False),
        ({"alive": True, "status": "disconnected"}, "Disconnected", "disconnected", True),
        (
            {
                "alive": True,
                "status": "disconnected",
                "last_error": "cannot reach WhatsApp: web.whatsapp.com: [Errno -3] Temporary failure",
                "retry_at": str(NOW + 19.2),
            },
            "Disconnected — no network: retrying in 20 s",
            "disconnected",
            True,
        ),
        (
            {
                "alive": True,
                "status": "disconnected",
                "last_error": "cannot reach WhatsApp: x",
                "retry_at": "",
            },
            "Disconnected — no network",
            "disconnected",
            True,
        ),
        (
            {
                "alive": True,
                "status": "disconnected",
                "last_error": "something new",
                "retry_at": str(NOW + 5),
            },
            "Disconnected — retrying in 5 s",
            "disconnected",
            True,
        ),
        (
            {"alive": True, "status": "disconnected", "last_error": "", "retry_at": str(NOW - 1)},
            "Disconnected — retrying now",
            "disconnected",
            True,
        ),
        (
            {
                "alive": True,
                "status": "disconnected",
                "last_error": "connection to WhatsApp lost; reconnecting",
            },
            "Disconnected — connection lost",
            "disconnected",
            True,
        ),
        (
            {"alive": True, "status": "disconnected", "last_error": "simulated network disconnect"},
            "Disconnected — no network (simulated)",
            "disconnected",
            True,
        ),
        (
            {
                "alive": True,
                "status": "disconnected",
                "last_error": "pairing timed out; no QR code was scanned within 180 s.",
                "retry_at": str(NOW + 120),
            },
            "Disconnected — no QR code scanned in time: retrying in 120 s",
            "disconnected",
            True,
        ),
        # A runner that stopped publishing: its last status no longer holds.
        (
            {"alive": False, "status": "not started", "last_error": "x"},
            "Not running — the worker is not serving it",
            "not-started",
            False,
        ),
    ],
)
def test_status_words(state, words, chip, can_reconnect):
    view = describe(state, NOW)
    assert (view.words, view.chip, view.can_reconnect) == (words, chip, can_reconnect)


# --- counts today ---------------------------------------------------------------------------------


def add_messages(
    db, instance_id: str, sent: int, received: int, failed: int = 0, queued: int = 0
) -> list[str]:
    """Messages as the real send and events paths record them; returns their ids."""
    ids = []
    for _ in range(sent):
        row = message_log.create_outgoing(
            db, instance_id, {"peer": "+201234567890", "type": "text", "text": "hi"}
        )
        message_log.set_status(db, row["id"], "sent")
        ids.append(row["id"])
    for _ in range(failed):
        row = message_log.create_outgoing(
            db, instance_id, {"peer": "+201234567890", "type": "text", "text": "x"}
        )
        message_log.set_status(db, row["id"], "failed", "refused")
        ids.append(row["id"])
    for _ in range(queued):
        ids.append(message_log.create_outgoing(db, instance_id, {"peer": "+2012", "type": "text"})["id"])
    for number in range(received):
        row, _ = message_log.record_incoming(
            db,
            instance_id,
            {"wa_id": f"WA{instance_id}{number}{time.monotonic_ns()}", "peer": "+2019", "type": "text"},
        )
        ids.append(row["id"])
    return ids


def move_to_yesterday(db, message_ids: list[str]) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(hour=23, minute=59, second=59)
    with db.conn:
        for message_id in message_ids:
            db.execute(
                "UPDATE messages SET created_at = ? WHERE id = ?",
                [yesterday.isoformat(timespec="seconds"), message_id],
            )


def test_counts_today_leave_out_yesterday_and_unsent(db, make_instance):
    first, _ = make_instance("First")
    second, _ = make_instance("Second")
    add_messages(db, first["id"], sent=3, received=2, failed=1, queued=1)
    move_to_yesterday(db, add_messages(db, first["id"], sent=4, received=5))
    add_messages(db, second["id"], sent=0, received=1)
    counts = message_stats.counts_since(
        db, [first["id"], second["id"], "inst_none"], message_stats.midnight_utc()
    )
    assert counts == {
        first["id"]: {"sent": 3, "received": 2},
        second["id"]: {"sent": 0, "received": 1},
        "inst_none": {"sent": 0, "received": 0},
    }


def test_midnight_utc_is_the_day_boundary():
    late = datetime(2026, 5, 2, 23, 30, tzinfo=UTC)
    assert message_stats.midnight_utc(late) == "2026-05-02T00:00:00+00:00"
    cairo = datetime(2026, 5, 3, 1, 30, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Africa/Cairo")
    )
    assert message_stats.midnight_utc(cairo) == "2026-05-03T00:00:00+00:00"


# --- the live endpoint ----------------------------------------------------------------------------


def live(client, query: str = ""):
    return client.get("/instances/live" + query)


def test_live_shows_only_the_users_instances_and_admins_all(app, db, make_user, make_instance):
    mine, _ = make_instance("Mine", owner_email="owner@example.com")
    theirs, _ = make_instance("Theirs", owner_email="other@example.com")
    make_user("admin@example.com", is_admin=True)
    add_messages(db, mine["id"], sent=2, received=1)

    owner = app.test_client()
    login(owner, "owner@example.com")
    answer = live(owner)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["day"] == "since midnight UTC"
    assert body["instances"] == [
        {
            "id": mine["id"],
            "status": "not started",
            "words": "Not running — the worker is not serving it",
            "chip": "not-started",
            "can_reconnect": False,
            "phone_number": "",
            "push_name": "",
            "last_error": "",
            "sent": 2,
            "received": 1,
        }
    ]
    assert live(owner, f"?id={theirs['id']}").status_code == 404
    assert [row["id"] for row in live(owner, f"?id={mine['id']}").get_json()["instances"]] == [mine["id"]]

    admin = app.test_client()
    login(admin, "admin@example.com")
    assert {row["id"] for row in live(admin).get_json()["instances"]} == {mine["id"], theirs["id"]}


def test_live_gives_anonymous_visitors_nothing(client, make_instance):
    instance, _ = make_instance("Secret name")
    answer = live(client)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert instance["id"] not in answer.get_data(as_text=True)
    assert live(client, f"?id={instance['id']}").status_code == 302


def test_list_page_shows_words_counts_and_the_day_boundary(app, client, db, make_user, make_instance):
    make_user("admin@example.com", is_admin=True)
    instance, _ = make_instance("Support line")
    add_messages(db, instance["id"], sent=1, received=4)
    login(client, "admin@example.com")
    page = client.get("/instances").get_data(as_text=True)
    row = page[page.index(f'data-instance="{instance["id"]}"') :]
    assert "Not running — the worker is not serving it" in row
    assert re.search(r'data-field="sent">1<', row) and re.search(r'data-field="received">4<', row)
    assert "since midnight UTC" in page
    assert f'<time datetime="{instance["created_at"]}" data-relative>' in row
    assert "owner@example.com" in row  # admins see the owner


# --- Reconnect now --------------------------------------------------------------------------------


def reconnect(client, instance_id: str, back: str = "list"):
    csrf = csrf_from(client.get("/instances").get_data(as_text=True))
    return client.post(f"/instances/{instance_id}/reconnect", data={"csrf_token": csrf, "back": back})


def status_of(client, instance_id: str) -> dict:
    return live(client, f"?id={instance_id}").get_json()["instances"][0]


def test_reconnect_now_through_the_runner(app, connected_instance):
    instance, _, headers = connected_instance
    dashboard = app.test_client()
    login(dashboard, "owner@example.com")
    assert status_of(dashboard, instance["id"])["words"] == "Connected"

    assert dashboard.post("/api/simulator/disconnect", headers=headers).status_code == 200
    down = status_of(dashboard, instance["id"])
    assert (down["words"], down["can_reconnect"]) == ("Disconnected — no network (simulated)", True)

    answer = reconnect(dashboard, instance["id"])
    assert answer.status_code == 303 and answer.headers["Location"] == "/instances"
    assert f"“{instance['name']}” is connected again." in dashboard.get("/instances").get_data(as_text=True)
    up = status_of(dashboard, instance["id"])
    assert (up["words"], up["can_reconnect"], up["phone_number"]) == ("Connected", False, "+201000000001")

    again = reconnect(dashboard, instance["id"], back="instance")
    assert again.headers["Location"] == f"/instances/{instance['id']}"
    assert "is already connected." in dashboard.get(again.headers["Location"]).get_data(as_text=True)


def test_reconnect_of_an_unlinked_phone_says_why(app, make_instance, supervisors):
    instance, token = make_instance()
    dashboard = app.test_client()
    login(dashboard, "owner@example.com")
    supervisors.start()
    wait_for(lambda: status_of(dashboard, instance["id"])["status"] == "qr", 20, what="QR shown")
    reconnect(dashboard, instance["id"])
    page = dashboard.get("/instances").get_data(as_text=True)
    assert "Could not reconnect “Support”: The simulated phone is not linked (status: qr)" in page
    assert status_of(dashboard, instance["id"])["status"] == "qr"


def test_reconnect_without_a_worker_or_csrf(client, make_instance):
    instance, _ = make_instance()
    login(client, "owner@example.com")
    refused = client.post(f"/instances/{instance['id']}/reconnect", data={})
    assert refused.status_code == 400
    reconnect(client, instance["id"])
    page = client.get("/instances").get_data(as_text=True)
    assert "cannot reconnect: the worker is not running this instance" in page


def test_reconnect_of_someone_elses_instance_is_404(app, make_instance):
    theirs, _ = make_instance("Theirs", owner_email="other@example.com")
    make_instance("Mine", owner_email="owner@example.com")
    intruder = app.test_client()
    login(intruder, "owner@example.com")
    assert reconnect(intruder, theirs["id"]).status_code == 404


# --- in a real browser ----------------------------------------------------------------------------


def log_in(page, live_server: str) -> None:
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


@pytest.mark.parametrize("width", [pytest.param(1280, marks=pytest.mark.slow), 390])
def test_overview_updates_in_place_and_reconnects(page, live_server, connected_instance, width):
    instance, _, headers = connected_instance
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server)
    chip = f'tr[data-instance="{instance["id"]}"] [data-field=status]'
    page.wait_for_function(f"() => document.querySelector('{chip}').textContent === 'Connected'")
    assert page.is_hidden(f'tr[data-instance="{instance["id"]}"] [data-field=reconnect]')
    check_layout(page, f"overview-connected-{width}")
    page.evaluate("window.notReloaded = true")

    down = requests.post(live_server + "/api/simulator/disconnect", headers=headers, timeout=10)
    assert down.status_code == 200
    page.wait_for_function(f"() => document.querySelector('{chip}').textContent.startsWith('Disconnected')")
    assert page.evaluate("window.notReloaded") is True  # updated in place, not by a reload
    assert page.get_attribute(chip, "class") == "chip chip-disconnected"
    assert page.inner_text(f'tr[data-instance="{instance["id"]}"] [data-field=last_error]') == (
        "simulated network disconnect"
    )
    check_layout(page, f"overview-disconnected-{width}")

    with page.expect_navigation():
        page.click(f'tr[data-instance="{instance["id"]}"] button:has-text("Reconnect now")')
    assert "is connected again." in page.inner_text(".flash.ok")
    assert page.inner_text(chip) == "Connected"

    page.goto(f"{live_server}/instances/{instance['id']}")
    assert page.inner_text("#status") == "Connected"
    requests.post(live_server + "/api/simulator/disconnect", headers=headers, timeout=10)
    page.wait_for_function("() => document.querySelector('#status').dataset.status === 'disconnected'")
    assert page.is_visible("#reconnect-form")
    check_layout(page, f"instance-disconnected-{width}")
    with page.expect_navigation():
        page.click("#reconnect-form button")
    assert page.url.endswith(f"/instances/{instance['id']}")
    assert page.inner_text("#status") == "Connected"
    assert page.is_hidden("#reconnect-form")


HIDE = """(hidden) => {
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
  document.dispatchEvent(new Event('visibilitychange'));
}"""
# Counts the page's fetch calls as they start and settle (the wrapper's handler runs before the page's own).
COUNT_FETCHES = """(() => {
  const real = window.fetch;
  window.fetches = {started: 0, settled: 0};
  window.fetch = function (...args) {
    window.fetches.started += 1;
    const answer = real.apply(this, args);
    answer.then(() => { window.fetches.settled += 1; }, () => { window.fetches.settled += 1; });
    return answer;
  };
})();"""


def test_live_refresh_pauses_in_a_hidden_tab_and_stays_quiet_while_the_server_is_down(
    page, log, live_server, make_instance
):
    instance, _ = make_instance()
    page.add_init_script(COUNT_FETCHES)
    start = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
    page.clock.install(time=start)
    page.goto(live_server + "/login")
    page.clock.pause_at(start + timedelta(minutes=1))  # from here the page's timers move only when told
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    note = page.locator("#live-note")

    def fetches() -> dict:
        return page.evaluate("window.fetches")

    def settled(count: int) -> None:
        """Wait until count polls have ended (and the page's handlers of them have run)."""
        wait_for(lambda: fetches()["settled"] == count, 10, what=f"{count} polls settled")

    assert fetches() == {"started": 0, "settled": 0}
    page.clock.run_for(2_900)
    assert fetches()["started"] == 0  # every 3 s
    page.clock.run_for(200)
    settled(1)
    assert page.inner_text(f'tr[data-instance="{instance["id"]}"] [data-field=status]').startswith(
        "Not running"
    )

    page.evaluate(HIDE, True)
    page.clock.run_for(60_000)  # a minute in a background tab: no polling at all
    assert fetches() == {"started": 1, "settled": 1}
    page.evaluate(HIDE, False)  # back on the tab: fresh at once, without waiting
    assert fetches()["started"] == 2
    settled(2)

    page.route("**/instances/live*", lambda route: route.abort())  # the server is down
    page.clock.run_for(3_000)
    settled(3)
    assert note.is_hidden()  # one miss is a blip: nothing said
    page.clock.run_for(14_000)  # the next try waits 15 s, not 3 s: no hammering a restarting server
    assert fetches()["started"] == 3
    page.clock.run_for(1_000)
    settled(4)
    assert note.inner_text() == "Live updates paused: MegaMsg is not answering. Retrying…"
    assert note.is_visible()

    page.unroute("**/instances/live*")
    page.clock.run_for(15_000)
    settled(5)
    assert note.is_hidden()
    assert log.page_errors == []
