"""The API sandbox (/sandbox) in a real browser: real sends, errors, storage, layout."""

import hashlib
import json
import os
import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser_pages import check_layout, stored_anywhere
from tests.conftest import PASSWORD, outbox
from tests.media_samples import png_bytes

SEND_WAIT = 30_000  # ms: a send waits up to SEND_TIMEOUT (5 s in tests) on a busy machine


def open_sandbox(page, live_server: str, instance_id: str = "", token: str = "") -> None:
    page.goto(f"{live_server}/sandbox" + (f"?instance_id={instance_id}" if instance_id else ""))
    if token:
        page.fill("#token", token)


def send_and_wait(page, status: str) -> dict:
    """Click Send, wait for the given status line; return the JSON shown."""
    page.click("#send")
    expect(page.locator("#result-status")).to_have_text(status, timeout=SEND_WAIT)
    return json.loads(page.inner_text("#result-body"))


def assert_clean(page, log, live_server: str, token: str) -> None:
    """Nothing left the server's origin, and the token is in no localStorage or cookie."""
    assert log.off_origin(live_server) == []
    assert log.page_errors == []
    assert stored_anywhere(page, token) == []
    assert page.evaluate("() => localStorage.length") == 0


def run_curl(command: str, token: str, cwd) -> dict:
    """Run the page's curl command in a shell, with the token in the variable it expects."""
    done = subprocess.run(
        ["sh", "-c", command + " --silent --show-error --max-time 60"],
        cwd=cwd,
        env={**os.environ, "MEGAMSG_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_text_send_shows_the_answer_and_reaches_the_outbox(
    page, log, live_server, client, connected_instance, tmp_path
):
    instance, token, headers = connected_instance
    # A slow send, so "Sending request…" stays up long enough to be seen.
    assert client.post("/api/simulator/delay-next", headers=headers, json={"seconds": 1.5}).status_code == 200
    open_sandbox(page, live_server, instance["id"])
    assert page.input_value("#instance-id") == instance["id"]  # from the instance page's link
    assert page.locator("#instance-picker").count() == 0  # anonymous: no list of instances
    page.fill("#token", token)
    page.fill("#phone_number", "+20 123 456 7890")
    page.fill("#text", "Hello from the sandbox")

    page.click("#send")
    expect(page.locator("#result-status")).to_have_text("Sending request…")
    expect(page.locator("#result-status")).to_have_text("HTTP 200 OK", timeout=SEND_WAIT)
    elapsed = re.fullmatch(r"in (\d+) ms", page.inner_text("#result-time"))
    assert elapsed and int(elapsed.group(1)) >= 1400, page.inner_text("#result-time")
    shown = page.inner_text("#result-body")
    assert '\n  "ok": true,\n' in shown  # pretty-printed
    body = json.loads(shown)
    assert body == {"ok": True, "to": "+201234567890", "type": "text", "id": body["id"], "status": "sent"}
    [sent] = outbox(client, headers)
    assert (sent["id"], sent["to"], sent["text"]) == (body["id"], "+201234567890", "Hello from the sandbox")

    # The curl command does the same, with the token kept out of it.
    command = page.inner_text("#curl")
    assert token not in command and "$MEGAMSG_TOKEN" in command
    assert token not in page.inner_text("body")
    again = run_curl(command, token, tmp_path)
    assert again["ok"] is True and again["id"] != body["id"]
    assert [m["text"] for m in outbox(client, headers)] == ["Hello from the sandbox"] * 2
    assert_clean(page, log, live_server, token)


def test_image_picked_from_disk_arrives_byte_for_byte(
    page, log, live_server, client, connected_instance, tmp_path
):
    instance, token, headers = connected_instance
    png = png_bytes()
    picture = tmp_path / "square.png"
    picture.write_bytes(png)
    open_sandbox(page, live_server, instance["id"], token)
    page.fill("#phone_number", "+201234567890")
    page.select_option("#type", "image")
    page.check("input[name=media-source][value=file]")
    page.set_input_files("#media-file", str(picture))
    page.fill("#caption", "A square")
    page.click("#new-key")
    assert len(page.input_value("#idempotency-key")) >= 32

    body = send_and_wait(page, "HTTP 200 OK")
    assert body["type"] == "image" and body["status"] == "sent"
    assert page.is_hidden("#result-note")
    [sent] = outbox(client, headers)
    assert sent["id"] == body["id"] and sent["type"] == "image" and sent["caption"] == "A square"
    assert sent["media_sha256"] == hashlib.sha256(png).hexdigest() and sent["media_size"] == len(png)
    # Sending again with the same key replays the answer and sends nothing.
    assert send_and_wait(page, "HTTP 200 OK") == body
    assert "nothing new was sent" in page.inner_text("#result-note")
    assert len(outbox(client, headers)) == 1
    assert_clean(page, log, live_server, token)


def test_large_document_curl_reads_the_saved_request_json(
    page, log, live_server, client, connected_instance, tmp_path
):
    instance, token, headers = connected_instance
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"A line of notes for the sandbox.\n" * 200)  # base64 well past what fits on a line
    open_sandbox(page, live_server, instance["id"], token)
    page.fill("#phone_number", "+201234567890")
    page.select_option("#type", "document")
    page.check("input[name=media-source][value=file]")
    page.set_input_files("#media-file", str(notes))
    # Picking the file filled in what a document needs.
    assert (page.input_value("#mime_type"), page.input_value("#file_name")) == ("text/plain", "notes.txt")

    body = send_and_wait(page, "HTTP 200 OK")
    [sent] = outbox(client, headers)
    assert sent["id"] == body["id"] and sent["file_name"] == "notes.txt"
    assert sent["media_sha256"] == hashlib.sha256(notes.read_bytes()).hexdigest()

    command = page.inner_text("#curl")
    assert "--data @request.json" in command
    with page.expect_download() as download:
        page.click("#body-download")
    download.value.save_as(tmp_path / "request.json")
    assert run_curl(command, token, tmp_path)["ok"] is True
    assert [m["media_sha256"] for m in outbox(client, headers)] == [sent["media_sha256"]] * 2
    assert_clean(page, log, live_server, token)


def test_wrong_token_shows_the_401(page, log, live_server, make_instance):
    instance, token = make_instance()
    wrong = "f" * 64
    open_sandbox(page, live_server, instance["id"], wrong)
    page.fill("#phone_number", "+201234567890")
    page.fill("#text", "Hi")
    assert send_and_wait(page, "HTTP 401 Unauthorized") == {"ok": False, "message": "Unauthorized."}
    # No field has a name, so not even a script failure could submit the token in a URL.
    assert (
        page.eval_on_selector_all("#sandbox [name]", "fields => fields.map(f => f.name)")
        == ["media-source"] * 3
    )
    assert_clean(page, log, live_server, wrong)
    assert page.evaluate("() => sessionStorage.length") == 0  # "remember" was not ticked


def test_missing_field_shows_the_422(page, log, live_server, make_instance):
    instance, token = make_instance()
    open_sandbox(page, live_server, instance["id"], token)
    page.fill("#phone_number", "+201234567890")  # and no text
    body = send_and_wait(page, "HTTP 422 Unprocessable Content")
    assert body["ok"] is False and "text" in body["message"]
    assert page.is_hidden("#result-error")
    assert_clean(page, log, live_server, token)


def test_remembered_token_stays_in_this_tab_only(context, page, log, live_server, make_instance):
    instance, token = make_instance()
    open_sandbox(page, live_server, instance["id"])
    page.check("#remember")
    page.fill("#token", token)
    page.reload()
    assert page.input_value("#token") == token and page.is_checked("#remember")
    other_tab = context.new_page()
    open_sandbox(other_tab, live_server)
    assert other_tab.input_value("#token") == "" and not other_tab.is_checked("#remember")
    assert_clean(page, log, live_server, token)
    page.uncheck("#remember")
    assert page.evaluate("() => sessionStorage.length") == 0


def login(page, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/instances$"))


def test_logged_in_user_picks_one_of_their_instances(page, log, live_server, make_instance):
    support, _ = make_instance("Support", owner_email="owner@example.com")
    sales, token = make_instance("Sales", owner_email="owner@example.com")
    theirs, _ = make_instance("Elsewhere", owner_email="someone@example.com")
    login(page, live_server, "owner@example.com")
    page.goto(f"{live_server}/instances/{sales['id']}")
    page.click("#sandbox-link")
    assert page.input_value("#instance-id") == sales["id"]
    assert page.input_value("#instance-picker") == sales["id"]
    options = page.eval_on_selector_all("#instance-picker option", "options => options.map(o => o.value)")
    assert sorted(options) == sorted(["", support["id"], sales["id"]])  # not the other user's instance
    page.select_option("#instance-picker", support["id"])
    assert page.input_value("#instance-id") == support["id"]
    assert page.input_value("#token") == ""  # only its hash is stored: the token is still pasted
    assert_clean(page, log, live_server, token)


def test_network_failure_and_non_json_answers_are_explained(page, log, live_server, make_instance):
    instance, token = make_instance()
    open_sandbox(page, live_server, instance["id"], token)
    page.fill("#phone_number", "+201234567890")
    page.fill("#text", "Hi")

    page.route("**/api/whatsapp/messages/send", lambda route: route.abort("connectionreset"))
    page.click("#send")
    expect(page.locator("#result-status")).to_have_text("No answer")
    assert "could not be reached" in page.inner_text("#result-error")
    assert "Idempotency-Key" in page.inner_text("#result-error")

    page.unroute("**/api/whatsapp/messages/send")
    page.route(
        "**/api/whatsapp/messages/send",
        lambda route: route.fulfill(status=502, content_type="text/html", body="<h1>Bad gateway</h1>"),
    )
    page.click("#send")
    expect(page.locator("#result-status")).to_have_text("HTTP 502 Bad Gateway")
    assert "not JSON (text/html)" in page.inner_text("#result-error")
    assert page.inner_text("#result-body") == "<h1>Bad gateway</h1>"  # shown as text, not rendered


def test_each_type_shows_the_fields_it_needs(page, log, live_server):
    open_sandbox(page, live_server)
    visible = {
        "text": {"#text"},
        "image": {"#media-url", "#caption"},
        "audio": {"#media-url", "#ptt"},
        "video": {"#media-url", "#caption"},
        "document": {"#media-url", "#caption", "#mime_type", "#file_name"},
    }
    fields = set().union(*visible.values())
    for kind, shown in visible.items():
        page.select_option("#type", kind)
        assert {field for field in fields if page.is_visible(field)} == shown, kind
    for source, field in (("base64", "#media-base64"), ("file", "#media-file"), ("url", "#media-url")):
        page.check(f"input[name=media-source][value={source}]")
        assert [f for f in ("#media-url", "#media-base64", "#media-file") if page.is_visible(f)] == [field]


@pytest.mark.parametrize("width", [390, 1280])
def test_layout_at_phone_and_desktop_width(page, log, live_server, make_instance, width):
    email = "a.rather.long.address.for.the.header@example.com"
    instance, token = make_instance(owner_email=email)
    page.set_viewport_size({"width": width, "height": 900})
    open_sandbox(page, live_server, instance["id"])
    check_layout(page, f"sandbox-{width}-anonymous")
    login(page, live_server, email)
    open_sandbox(page, live_server, instance["id"], token[::-1])
    page.select_option("#type", "document")
    page.fill("#phone_number", "+201234567890")
    page.fill("#media-url", "https://example.com/a/very/long/path/" + "segment/" * 30 + "invoice.pdf")
    page.fill("#idempotency-key", "k" * 120)
    send_and_wait(page, "HTTP 401 Unauthorized")
    check_layout(page, f"sandbox-{width}-answer")
    assert_clean(page, log, live_server, token[::-1])
