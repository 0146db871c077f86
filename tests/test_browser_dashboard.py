"""Issue 10, bugs 1, 2 and 7 in a real browser (Debian chromium driven by Playwright)."""

import re

import pytest
import requests

from megamsg.store.db import connect
from tests.browser_pages import check_layout
from tests.conftest import PASSWORD, auth_headers, wait_for


def log_in(page, live_server: str, email: str = "owner@example.com") -> None:
    page.goto(live_server + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.url.endswith("/instances")


def instance_count(app) -> int:
    database = connect(app.config["DATABASE"])
    try:
        return database["instances"].count
    finally:
        database.conn.close()


def api_status(live_server: str, instance_id: str, token: str) -> int:
    return requests.get(
        live_server + "/api/whatsapp/instance", headers=auth_headers(instance_id, token), timeout=10
    ).status_code


def test_reloading_after_create_and_rotate_repeats_nothing(page, live_server, app, make_user):
    make_user("owner@example.com")
    log_in(page, live_server)
    page.fill("input[name=name]", "Support line")
    with page.expect_navigation():
        page.click("text=Create instance")
    token = page.inner_text("#token")
    instance_id = page.inner_text("#instance-id")
    assert instance_count(app) == 1

    page.reload()
    assert instance_count(app) == 1  # no second instance
    assert page.locator("#token").count() == 0
    assert "was shown once" in page.inner_text("main")
    assert api_status(live_server, instance_id, token) == 200

    page.goto(f"{live_server}/instances/{instance_id}")
    with page.expect_navigation():
        page.click("text=Rotate token")
    assert page.url.endswith(f"/instances/{instance_id}/rotate")  # asks first
    assert api_status(live_server, instance_id, token) == 200
    with page.expect_navigation():
        page.click("main form button.danger")
    assert "Token rotated: the previous token no longer works." in page.inner_text(".flash.ok")
    rotated = page.inner_text("#token")
    assert api_status(live_server, instance_id, token) == 401

    page.reload()
    assert page.locator("#token").count() == 0
    assert api_status(live_server, instance_id, rotated) == 200  # not rotated again


def test_a_saved_session_cookie_is_dead_after_logout(browser, page, context, live_server, make_user):
    make_user("owner@example.com")
    log_in(page, live_server)
    saved = context.storage_state()
    with page.expect_navigation():
        page.click("header button:has-text('Log out')")

    replay = browser.new_context(storage_state=saved)
    try:
        other = replay.new_page()
        other.goto(live_server + "/instances")
        assert re.search(r"/login\?next=", other.url), other.url
    finally:
        replay.close()
    assert "You are logged out." in page.inner_text(".flash.ok")


def test_whatsapp_logout_asks_first_and_says_what_happened(page, live_server, make_instance, supervisors):
    instance, _ = make_instance(owner_email="owner@example.com")
    log_in(page, live_server)
    supervisors.start()
    page.goto(f"{live_server}/instances/{instance['id']}")
    page.wait_for_selector("#qr svg")
    page.click("text=Simulate scan")
    page.wait_for_function("() => document.querySelector('#status').dataset.status === 'connected'")

    with page.expect_navigation():
        page.click("text=Log out of WhatsApp")
    assert page.url.endswith(f"/instances/{instance['id']}/logout")
    assert "unlinks the WhatsApp session" in page.inner_text("main")
    with page.expect_navigation():
        page.click("main form button.danger")
    assert page.url.endswith(f"/instances/{instance['id']}")
    assert "Logged out of WhatsApp" in page.inner_text(".flash.ok")
    page.wait_for_function("() => document.querySelector('#status').dataset.status === 'qr'")


def test_cancel_on_a_confirmation_changes_nothing(page, live_server, make_instance):
    instance, token = make_instance(owner_email="owner@example.com")
    log_in(page, live_server)
    page.goto(f"{live_server}/instances/{instance['id']}/rotate")
    with page.expect_navigation():
        page.click("text=Cancel")
    assert page.url.endswith(f"/instances/{instance['id']}")
    wait_for(lambda: api_status(live_server, instance["id"], token) == 200, 5, what="the old token to work")


@pytest.mark.parametrize("width", [1280, 390])
def test_new_pages_fit_the_screen(browser, live_server, make_user, width):
    make_user("owner@example.com")
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        log_in(page, live_server)
        page.fill("input[name=name]", "A rather long instance name for a narrow phone screen")
        with page.expect_navigation():
            page.click("text=Create instance")
        check_layout(page, f"token-shown-{width}")
        instance_id = page.inner_text("#instance-id")
        page.reload()
        check_layout(page, f"token-gone-{width}")
        for name, path in [
            ("instance", f"/instances/{instance_id}"),
            ("rotate-confirm", f"/instances/{instance_id}/rotate"),
            ("whatsapp-logout-confirm", f"/instances/{instance_id}/logout"),
            ("account", "/account"),
            ("logout-everywhere-confirm", "/account/logout-everywhere"),
        ]:
            page.goto(live_server + path)
            check_layout(page, f"{name}-{width}")
    finally:
        context.close()
