"""Copy buttons (static/copy.js) in chromium: the clipboard where the browser offers one, else the
text selected with a "press Ctrl+C" hint (plain HTTP by host name or IP is not a secure context)."""

import re

import pytest
from playwright.sync_api import expect

from megamsg.store.db import connect
from tests.browser_pages import check_layout
from tests.conftest import PASSWORD

# Resolves to the test server for this browser only. Plain http:// on any name but localhost (or
# an IP other than loopback) is not a secure context, so navigator.clipboard is undefined there.
HOST = "megamsg.test"
HINT = re.compile(r"press Ctrl\+C")


@pytest.fixture(scope="module")
def chromium_args():
    return [f"--host-resolver-rules=MAP {HOST} 127.0.0.1"]


def by_host_name(live_server: str) -> str:
    """The live server's URL under a plain-HTTP host name."""
    return live_server.replace("127.0.0.1", HOST)


def log_in(page, base: str, email: str = "owner@example.com") -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/instances$"))


def create_instance(page) -> tuple[str, str]:
    """Create an instance from the instances page; return (instance id, token) as the page shows them."""
    page.fill("input[name=name]", "Support line")
    page.click("text=Create instance")
    return page.inner_text("#instance-id"), page.inner_text("#token")


def selected_text(page) -> str:
    return page.evaluate("() => window.getSelection().toString()")


def test_token_page_copy_buttons_select_the_text_with_a_hint_over_plain_http(
    page, log, live_server, make_user
):
    make_user("owner@example.com")
    log_in(page, by_host_name(live_server))
    assert page.evaluate("() => [window.isSecureContext, typeof navigator.clipboard]") == [False, "undefined"]
    instance_id, token = create_instance(page)
    assert len(token) == 64

    page.click("[data-copy=token]")
    assert selected_text(page) == token
    hint = page.get_by_text(HINT)
    expect(hint).to_be_visible()
    assert hint.count() == 1

    page.click("[data-copy=instance-id]")
    assert selected_text(page) == instance_id
    # One hint, next to the button whose text is selected now.
    assert page.get_by_text(HINT).count() == 1
    expect(page.locator("[data-copy=instance-id] + .copy-hint")).to_have_text(HINT)

    assert log.page_errors == []
    check_layout(page, "token-plain-http-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    check_layout(page, "token-plain-http-390")


def test_webhook_secret_copy_button_selects_it_with_a_hint_over_plain_http(
    page, log, live_server, app, make_instance
):
    instance, _ = make_instance(owner_email="owner@example.com")
    base = by_host_name(live_server)
    log_in(page, base)
    page.goto(f"{base}/instances/{instance['id']}/webhooks")
    page.click("text=Reveal secret")
    secret = connect(app.config["DATABASE"])["instances"].get(instance["id"])["webhook_secret"]
    assert page.inner_text("#webhook-secret") == secret

    page.click("[data-copy=webhook-secret]")
    assert selected_text(page) == secret
    expect(page.get_by_text(HINT)).to_be_visible()
    assert log.page_errors == []
    check_layout(page, "webhook-secret-plain-http-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    check_layout(page, "webhook-secret-plain-http-390")


def test_copy_buttons_use_the_clipboard_in_a_secure_context(page, context, log, live_server, make_user):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    make_user("owner@example.com")
    log_in(page, live_server)  # http://127.0.0.1 counts as secure
    _, token = create_instance(page)

    page.click("[data-copy=token]")
    expect(page.locator("[data-copy=token]")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == token
    assert page.get_by_text(HINT).count() == 0
    assert log.page_errors == []
