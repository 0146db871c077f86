"""The webhook page in chromium."""

import re

import pytest

from tests.browser_pages import RequestLog, check_layout, chromium
from tests.conftest import PASSWORD
from tests.webhook_support import WEBHOOK_TEST_CONFIG


@pytest.fixture
def config_overrides(config_overrides):
    """Short backoff and timeout; the receiver is on loopback."""
    return {**config_overrides, **WEBHOOK_TEST_CONFIG}


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def log(context):
    return RequestLog(context)


@pytest.fixture
def page(context, log):
    return context.new_page()


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
