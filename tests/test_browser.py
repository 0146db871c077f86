"""The dashboard in a real browser (Debian chromium driven by Playwright)."""

import re

import pytest
from playwright.sync_api import expect

from megamsg.store.db import connect
from megamsg.store.setup_code import ensure_setup_code
from tests.conftest import PASSWORD, wait_for


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_first_run_setup_create_instance_and_link_with_simulator(page, live_server, app, supervisors):
    code = ensure_setup_code(connect(app.config["DATABASE"]))
    page.goto(live_server + "/")
    assert page.url.endswith("/setup")
    page.fill("input[name=setup_code]", code)
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/instances$"))

    page.fill("input[name=name]", "Support line")
    page.click("text=Create instance")
    token = page.inner_text("#token")
    instance_id = page.inner_text("#instance-id")
    assert len(token) == 64
    page.click("text=Continue to")

    supervisors.start()
    page.wait_for_selector("#qr svg")
    first_qr = page.inner_html("#qr")
    assert int(page.inner_text("#countdown")) >= 0
    # The QR refreshes by itself as it rotates.
    page.wait_for_function("(old) => document.querySelector('#qr').innerHTML !== old", arg=first_qr)

    page.click("summary:has-text('Link with phone number instead')")
    page.fill("#pair-form input[name=phone_number]", "+20 123 456 7890")
    page.click("#pair-form button")
    page.wait_for_function("() => document.querySelector('#pair-code').textContent.length === 9")
    # A stale form (its CSRF token no longer valid) gets a visible explanation, not silence.
    page.eval_on_selector("#pair-form input[name=csrf_token]", "input => { input.value = 'stale'; }")
    page.click("#pair-form button")
    page.wait_for_selector("#action-error:not([hidden])")
    assert "(400). Reload the page and try again." in page.inner_text("#action-error")

    page.click("text=Simulate scan")
    page.wait_for_function("() => document.querySelector('#status').dataset.status === 'connected'")
    # The chip (instances.js) and the linked number (instance.js) come from two polls: wait for both.
    expect(page.locator("#linked")).to_contain_text("+201000000000")
    assert page.is_hidden("#qr-block")

    with page.expect_navigation():
        page.click("text=Log out of WhatsApp")
    with page.expect_navigation():
        page.click("main form button.danger")  # the confirmation page
    page.wait_for_function("() => document.querySelector('#status').dataset.status === 'qr'")
    assert instance_id in page.content()


def test_wrong_login_shows_message(page, live_server, make_user):
    make_user("owner@example.com")
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "Wrong email or password." in page.inner_text(".flash.error")


@pytest.fixture
def allow_private(app):
    """The loopback receiver is a private address: allow it before any worker starts."""
    app.config["ALLOW_PRIVATE_URLS"] = True


def test_webhook_settings_reveal_and_test_event(
    allow_private, page, live_server, app, make_instance, scripted_receiver, queue_workers
):
    instance, _ = make_instance(owner_email="owner@example.com")
    queue_workers.start()
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/instances/{instance['id']}")
    page.click("text=Webhook: settings")

    page.fill("#webhook-settings input[name=url]", scripted_receiver.url)
    page.click("#webhook-settings button[type=submit]")
    assert page.input_value("#webhook-settings input[name=url]") == scripted_receiver.url
    assert "whsec_" not in page.inner_text("body").replace("whsec_••", "")  # hidden until revealed
    page.click("text=Reveal secret")
    secret = page.inner_text("#webhook-secret")
    assert secret == connect(app.config["DATABASE"])["instances"].get(instance["id"])["webhook_secret"]

    with page.expect_navigation():
        page.click("text=Send a test event")
    assert "Test event queued." in page.inner_text(".flash.ok")
    detail_url = page.url  # the event's page: its payload and attempts

    def delivered() -> bool:
        page.goto(detail_url)
        return page.locator(".wh-delivered").count() > 0

    wait_for(delivered, 20, interval=0.3, what="the test event to show as delivered")
    assert "200" in page.inner_text("main")  # the attempt's status code
    assert scripted_receiver.count() == 1
