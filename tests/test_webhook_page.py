"""The webhook page in chromium: aligned event checkboxes, a reveal that survives a reload, and
events that update live until they are final."""

import re

import pytest
from playwright.sync_api import expect

from megamsg.delivery.webhooks import record_event
from tests.browser_pages import check_layout
from tests.conftest import PASSWORD
from tests.webhook_support import WEBHOOK_TEST_CONFIG

LIVE_WAIT = 30_000  # ms: a queue worker starting and delivering on a busy machine


@pytest.fixture
def config_overrides(config_overrides):
    """Short backoff and timeout; the receiver is on loopback."""
    return {**config_overrides, **WEBHOOK_TEST_CONFIG}


@pytest.fixture
def settings_url(page, live_server, make_instance) -> str:
    """The webhook page of an instance whose owner is logged in."""
    instance, _ = make_instance(owner_email="owner@example.com")
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/instances$"))
    return f"{live_server}/instances/{instance['id']}/webhooks"


def both_widths(page, name: str) -> None:
    """Screenshots at 1280 and 390 px, and no sideways scrolling at either."""
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        check_layout(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


CHECKBOX_GAPS = """() => [...document.querySelectorAll('#webhook-settings input[type=checkbox]')].map(box => {
  const text = document.createRange();
  text.selectNodeContents(box.nextSibling);  // the label's text after its checkbox
  return {width: box.getBoundingClientRect().width,
          gap: text.getBoundingClientRect().left - box.getBoundingClientRect().right};
})"""


def test_event_checkboxes_sit_next_to_their_labels(page, settings_url):
    page.goto(settings_url)
    boxes = page.evaluate(CHECKBOX_GAPS)
    assert len(boxes) == 3
    for box in boxes:
        assert box["width"] < 24, boxes  # the global `input {min-width: 16rem}` stretched them
        assert 0 <= box["gap"] < 12, boxes


def test_a_revealed_secret_survives_a_reload_and_stays_out_of_the_url(page, log, settings_url, app, db):
    page.goto(settings_url)
    with page.expect_response(lambda answer: answer.url == settings_url) as shown:
        page.click("text=Reveal secret")
    secret = page.inner_text("#webhook-secret")
    assert secret == db["instances"].get(settings_url.split("/")[-2])["webhook_secret"]
    assert "no-store" in shown.value.headers["cache-control"]  # the page holding the secret
    assert secret not in page.url

    again = page.goto(page.url)  # Enter in the address bar
    assert again.status == 200, page.url  # it was GET …/webhooks/reveal: 404
    assert page.locator("#webhook-secret-hidden").is_visible()  # shown once, hidden again
    assert secret not in page.content()

    old_address = page.goto(settings_url + "/reveal")  # history or a bookmark from before
    assert old_address.status == 200 and page.url == settings_url
    assert secret not in page.content()
    assert log.page_errors == []


def test_rotating_then_reloading_does_not_rotate_again(page, settings_url, db):
    page.goto(settings_url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Rotate secret")
    expect(page.locator(".flash.ok")).to_contain_text("New signing secret issued")
    rotated = page.inner_text("#webhook-secret")
    instance_id = settings_url.split("/")[-2]
    assert db["instances"].get(instance_id)["webhook_secret"] == rotated

    page.reload()
    assert db["instances"].get(instance_id)["webhook_secret"] == rotated


def test_test_events_update_live_until_delivered(
    page, context, log, settings_url, scripted_receiver, queue_workers
):
    page.goto(settings_url)
    page.fill("#webhook-settings input[name=url]", scripted_receiver.url)
    page.click("#webhook-settings button[type=submit]")
    with page.expect_navigation():
        page.click("text=Send a test event")
    first = page.url
    page.goto(settings_url)
    with page.expect_navigation():
        page.click("text=Send a test event")
    # No worker yet: both pages open on events that are still pending.
    expect(page.locator("#event-status")).to_have_text("pending")
    listing = context.new_page()
    listing.goto(settings_url)
    rows = listing.locator("#deliveries tbody tr")
    expect(rows).to_have_count(2)
    expect(listing.locator("#deliveries .wh-pending")).to_have_count(2)
    both_widths(page, "webhook-event-pending")

    queue_workers.start()

    expect(page.locator("#event-status")).to_have_text("delivered", timeout=LIVE_WAIT)
    expect(page.locator("#event-attempts")).to_have_text("1")
    expect(page.locator("#attempts tbody tr")).to_have_count(1)
    expect(page.locator("#attempts tbody tr td").nth(2)).to_have_text("200")
    expect(listing.locator("#deliveries .wh-delivered")).to_have_count(2, timeout=LIVE_WAIT)
    expect(rows.first.locator("td").nth(4)).to_have_text("200")
    assert scripted_receiver.count() == 2
    assert first != page.url
    both_widths(page, "webhook-event-delivered")
    both_widths(listing, "webhook-settings")
    assert log.page_errors == []


def test_skipped_events_are_hidden_until_asked_for(page, settings_url, db):
    instance = db["instances"].get(settings_url.split("/")[-2])
    skipped = [record_event(db, instance, "message", {"message": {"text": str(n)}}) for n in range(3)]
    db["instances"].update(instance["id"], {"webhook_url": "https://example.com/hook"})
    kept = record_event(db, db["instances"].get(instance["id"]), "message", {"message": {"text": "sent"}})

    page.goto(settings_url)
    expect(page.locator("#deliveries tbody tr")).to_have_count(1)
    expect(page.locator(f"tr[data-event={kept}]")).to_be_visible()
    expect(page.locator("#skipped-toggle")).to_contain_text("3 events were recorded but not sent")
    both_widths(page, "webhook-settings-skipped-hidden")
    page.click("text=Show 3 skipped events")
    expect(page.locator("#deliveries tbody tr")).to_have_count(4)
    for event_id in skipped:
        expect(page.locator(f"tr[data-event={event_id}] .wh-skipped")).to_be_visible()
    both_widths(page, "webhook-settings-with-skipped")
    page.click("text=Hide skipped events")
    expect(page.locator("#deliveries tbody tr")).to_have_count(1)
