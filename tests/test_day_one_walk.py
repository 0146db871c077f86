"""Issue 10: a new team's first day, in chromium at 1280 px, through the real stack (simulator).

Setup code → first admin → a second user → an instance → its QR → a simulated scan → a send from
the API that appears live on the messages page → an incoming image with its thumbnail → the detail
view with sent, delivered and read. Screenshots: screenshots/day-one-*.png.
"""

import base64
import io

import pytest
import requests
from PIL import Image
from playwright.sync_api import expect

from megamsg.store.setup_code import ensure_setup_code
from tests.browser_pages import check_layout
from tests.conftest import auth_headers

pytestmark = pytest.mark.slow

ADMIN, ADMIN_PASSWORD = "founder@example.com", "a long and unguessable passphrase"
LIVE = 30_000  # ms: runner, events worker and the page's poll on a busy machine


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (7, 94, 84)).save(buffer, format="PNG")
    return buffer.getvalue()


def submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def api(live_server: str, headers: dict, path: str, body: dict) -> dict:
    answer = requests.post(live_server + path, headers=headers, json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_day_one(browser, page, log, live_server, db, supervisors):
    supervisors.start()
    code = ensure_setup_code(db)
    assert code

    # The first visit leads to setup; the code from the web log makes the first admin.
    page.goto(live_server + "/")
    assert page.url.endswith("/setup")
    check_layout(page, "day-one-setup")
    page.fill("input[name=email]", ADMIN)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.fill("input[name=setup_code]", code)
    submit(page, "main button[type=submit]")
    assert page.url.endswith("/instances")
    expect(page.locator(".flash.ok")).to_contain_text("Your admin account is ready")

    # A teammate's account, its password shown once.
    page.click("header nav >> text=Users")
    page.fill("input[name=email]", "teammate@example.com")
    submit(page, "main form button[type=submit]")
    teammate_password = page.inner_text("#user-password")
    check_layout(page, "day-one-user-created")

    # An instance, its credentials shown once.
    page.click("header nav >> text=Instances")
    page.fill("input[name=name]", "Support line")
    submit(page, "text=Create instance")
    token, instance_id = page.inner_text("#token"), page.inner_text("#instance-id")
    headers = auth_headers(instance_id, token)

    # Its page shows a QR code once the worker runs it; the simulated phone scans it.
    page.goto(f"{live_server}/instances/{instance_id}")
    expect(page.locator("#qr svg")).to_be_visible(timeout=LIVE)
    check_layout(page, "day-one-qr")
    page.click("#scan-form button")  # sent in the background; the status follows live
    expect(page.locator("#status")).to_contain_text("Connected", timeout=LIVE)

    # The messages page fills live: a send from the API, then an incoming image.
    page.click("text=All messages")
    page.evaluate("window.notReloaded = true")
    sent = api(
        live_server, headers, "/api/whatsapp/messages/send", {"phone_number": "+201234567890", "text": "Hi!"}
    )
    row = page.locator(f'#messages tr[data-message="{sent["id"]}"]')
    expect(row).to_contain_text("Hi!", timeout=LIVE)
    expect(row.locator(".chip")).to_have_text("sent", timeout=LIVE)
    image = {"type": "image", "caption": "My receipt", "mime_type": "image/png", "file_name": "receipt.png"}
    incoming = {
        "from": "+201234567890",
        "push_name": "Nadia",
        **image,
        "media": base64.b64encode(png((800, 600))).decode(),
    }
    api(live_server, headers, "/api/simulator/incoming", incoming)
    thumb = page.locator("#messages img.thumb").first
    expect(thumb).to_be_visible(timeout=LIVE)
    page.wait_for_function(
        "() => { const img = document.querySelector('#messages img.thumb');"
        " return img && img.complete && img.naturalWidth > 0; }",
        timeout=LIVE,
    )
    expect(page.locator("#messages tbody tr").first).to_contain_text("Nadia")
    for status in ("delivered", "read"):
        api(live_server, headers, "/api/simulator/receipt", {"message_id": sent["id"], "status": status})
        expect(row.locator(".chip")).to_have_text(status, timeout=LIVE)
    assert page.evaluate("window.notReloaded") is True
    check_layout(page, "day-one-messages")

    # The detail view has the whole history.
    submit(page, f'#messages tr[data-message="{sent["id"]}"] >> text=Details')
    history = page.inner_text("#history")
    for status in ("queued", "sent", "delivered", "read"):
        assert status in history, history
    check_layout(page, "day-one-detail")
    assert log.page_errors == []
    assert log.off_origin(live_server) == []

    # The teammate logs in elsewhere and sees none of the admin's instances.
    other = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = other.new_page()
        phone.goto(live_server + "/login")
        phone.fill("input[name=email]", "teammate@example.com")
        phone.fill("input[name=password]", teammate_password)
        submit(phone, "main button[type=submit]")
        assert phone.url.endswith("/instances")
        assert "Support line" not in phone.inner_text("main")
        assert phone.goto(f"{live_server}/instances/{instance_id}").status == 404
        check_layout(phone, "day-one-teammate-390")
    finally:
        other.close()
