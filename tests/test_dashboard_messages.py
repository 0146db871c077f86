"""The dashboard's message log: filters, cursor pages, live rows, media and thumbnails, the detail view, in
the Flask client on real SQLite; and in chromium, live updates, a thumbnail and the status history."""

import base64
import io
import itertools
import os
import re
from html import unescape

import pytest
from PIL import Image
from playwright.sync_api import expect

from megamsg.delivery.events import media_path
from megamsg.delivery.outcomes import status_payload
from megamsg.delivery.webhooks import record_event
from megamsg.store import message_log, webhook_events
from tests.browser_pages import check_layout
from tests.conftest import PASSWORD, csrf_from, login, wait_for
from tests.webhook_support import WEBHOOK_TEST_CONFIG

WA_IDS = itertools.count(1)
ROW = re.compile(r'<tr data-message="([^"]+)" data-seq="(\d+)"')


def row_ids(html: str) -> list[str]:
    """The message ids of the table's rows, top to bottom."""
    return [match.group(1) for match in ROW.finditer(html)]


def link(html: str, label: str) -> str | None:
    """The href of the pager link with this text."""
    match = re.search(r'<a href="([^"]+)" rel="(?:prev|next)">' + re.escape(label), html)
    return unescape(match.group(1)) if match else None


@pytest.fixture
def owner(client, make_instance):
    """An instance whose owner is logged in with the test client."""
    instance, _ = make_instance(owner_email="owner@example.com")
    login(client, "owner@example.com")
    return instance


def outgoing(db, instance, text, peer="+201000000010", statuses=(), **fields):
    row = message_log.create_outgoing(
        db, instance["id"], {"peer": peer, "type": "text", "text": text, **fields}
    )
    for status in statuses:
        message_log.set_status(
            db, row["id"], status, **({"wa_id": "WA" + row["id"]} if status == "sent" else {})
        )
    return row


def incoming(db, instance, text, peer="+201000000012", push_name="Amira", **fields):
    row, _ = message_log.record_incoming(
        db,
        instance["id"],
        {
            "wa_id": f"IN{next(WA_IDS)}",
            "peer": peer,
            "type": "text",
            "text": text,
            "push_name": push_name,
            "wa_timestamp": 1_790_000_000,
            **fields,
        },
    )
    return row


def store_media(app, db, row, data: bytes) -> str:
    """Keep media for an incoming message where the events job keeps it, and note it on the row."""
    path = media_path(app.config, row["instance_id"], row["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    message_log.set_media_path(db, row["id"], str(path))
    return str(path)


def image_bytes(size=(640, 480), fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (7, 94, 84)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def log_rows(app, db, owner):
    """A small log of both directions, several statuses, types, numbers and wildcard characters."""
    rows = {
        "hello": outgoing(db, owner, "Hello World"),
        "percent": outgoing(
            db, owner, "Invoice 100% paid", peer="+201000000011", statuses=("sent", "delivered")
        ),
        "underscore": outgoing(db, owner, "file_name ready", statuses=("failed",)),
        "read": outgoing(db, owner, "all read", statuses=("sent", "delivered", "read")),
        "hi": incoming(db, owner, "Hi there"),
        "photo": incoming(db, owner, "", type="image", caption="Look at this", mime_type="image/jpeg"),
        "other": incoming(db, owner, "a 50 percent offer", peer="+201000000013", push_name="Bob"),
    }
    return {name: row["id"] for name, row in rows.items()}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["other", "photo", "hi", "read", "underscore", "percent", "hello"]),
        ("direction=in", ["other", "photo", "hi"]),
        ("direction=out", ["read", "underscore", "percent", "hello"]),
        ("status=delivered", ["percent"]),
        ("status=failed", ["underscore"]),
        ("status=queued", ["hello"]),
        ("status=received", ["other", "photo", "hi"]),
        ("type=image", ["photo"]),
        ("number=%2B20+100+000+0012", ["photo", "hi"]),  # normalised: "+20 100 000 0012"
        ("number=00201000000011", ["percent"]),
        ("q=%25", ["percent"]),  # a literal %, not "anything"
        ("q=_", ["underscore"]),  # a literal _, not "any one character"
        ("q=hello", ["hello"]),  # case-insensitive
        ("q=LOOK", ["photo"]),  # captions are searched too
        ("q=percent&direction=in&number=%2B201000000013", ["other"]),
        ("q=nothing+like+this", []),
    ],
)
def test_filters(client, owner, log_rows, query, expected):
    answer = client.get(f"/instances/{owner['id']}/messages?{query}")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert row_ids(html) == [log_rows[name] for name in expected]
    if not expected:
        assert "No messages match these filters" in html and "clear filters" in html


def test_empty_log_explains_how_to_send(client, owner):
    html = client.get(f"/instances/{owner['id']}/messages").get_data(as_text=True)
    assert "No messages yet — send one from the API" in html
    assert "POST /api/whatsapp/messages/send" in html


@pytest.mark.parametrize(
    "query, problem",
    [
        ("direction=sideways", "Direction must be one of in, out"),
        ("status=lost", "Status must be one of scheduled, queued, sent"),
        ("type=gif", "Type must be one of text, image"),
        ("number=12ab", "Number may contain only digits"),
        ("number=%2B1", "Number is not an international number"),
        ("number=%2B20+123", "Number is not a valid international number"),
        ("before=abc", "before must be a positive whole number"),
        ("before=0", "before must be a positive whole number"),
        ("after=-3", "after must be a positive whole number"),
        ("before=5&after=2", "Use either before or after, not both."),
        ("q=" + "x" * 201, "Search text is too long (201 characters; at most 200)."),
    ],
)
def test_bad_filters_are_refused_and_list_nothing(client, owner, log_rows, query, problem):
    answer = client.get(f"/instances/{owner['id']}/messages?{query}")
    assert answer.status_code == 400
    html = unescape(answer.get_data(as_text=True))
    assert problem in html
    assert "nothing is listed" in html
    assert row_ids(html) == []


def test_pages_walk_the_log_by_cursor(client, db, owner):
    ids = [outgoing(db, owner, f"message {n}")["id"] for n in range(1, 121)]  # seq 1..120
    newest_first = ids[::-1]
    first = client.get(f"/instances/{owner['id']}/messages").get_data(as_text=True)
    assert row_ids(first) == newest_first[:50]
    assert link(first, "← Newer") is None
    second = client.get(link(first, "Older →")).get_data(as_text=True)
    assert row_ids(second) == newest_first[50:100]
    third = client.get(link(second, "Older →")).get_data(as_text=True)
    assert row_ids(third) == newest_first[100:]
    assert link(third, "Older →") is None
    back = link(third, "← Newer")
    assert "after=20" in back
    assert row_ids(client.get(back).get_data(as_text=True)) == newest_first[50:100]
    assert (
        link(second, "← Newer") == f"/instances/{owner['id']}/messages"
    )  # the newer ones fit on the first page
    assert "data-live-url" in first and "data-live-url" not in second  # only the newest page updates live


def test_pages_keep_the_filters(client, db, owner):
    wanted = {incoming(db, owner, f"tock {n}")["id"] for n in range(60)}
    for n in range(60):
        outgoing(db, owner, f"tock {n}")
    first = client.get(f"/instances/{owner['id']}/messages?direction=in&q=tock").get_data(as_text=True)
    older = link(first, "Older →")
    assert "direction=in" in older and "q=tock" in older
    second = client.get(older).get_data(as_text=True)
    assert len(row_ids(first)) == 50 and len(row_ids(second)) == 10
    assert set(row_ids(first)) | set(row_ids(second)) == wanted
    assert link(second, "Older →") is None


def live(client, instance, query, shown=()):
    """The live endpoint's answer, for rows shown as (id, version) pairs."""
    pairs = "".join(f"&id={message_id}&v={version}" for message_id, version in shown)
    answer = client.get(f"/instances/{instance['id']}/messages/live?{query}{pairs}")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    return answer.get_json()


def version(html: str, message_id: str) -> str:
    return re.search(rf'data-message="{message_id}" data-seq="\d+" data-version="([^"]*)"', html).group(1)


def test_live_sends_new_matching_rows_and_changed_rows(app, client, db, owner):
    first = outgoing(db, owner, "before the page")
    page = client.get(f"/instances/{owner['id']}/messages?direction=out").get_data(as_text=True)
    assert f'data-latest="{first["seq"]}"' in page
    shown = [(first["id"], version(page, first["id"]))]
    assert live(client, owner, f"direction=out&after={first['seq']}", shown) == {
        "ok": True,
        "rows": [],
        "changed": [],
    }
    newer = outgoing(db, owner, "after the page")
    incoming(db, owner, "filtered out by direction")
    message_log.set_status(db, first["id"], "sent", wa_id="W1")
    body = live(client, owner, f"direction=out&after={first['seq']}", shown)
    assert [row["id"] for row in body["rows"]] == [newer["id"]]
    assert row_ids(body["rows"][0]["html"]) == [newer["id"]]  # the same row template as the table
    assert "after the page" in body["rows"][0]["html"]
    assert [row["id"] for row in body["changed"]] == [first["id"]]
    assert 'class="status chip chip-sent"' in body["changed"][0]["html"]


def test_live_sends_a_row_again_when_its_media_arrives(app, client, db, owner):
    row = incoming(db, owner, "", type="image", mime_type="image/jpeg")
    page = client.get(f"/instances/{owner['id']}/messages").get_data(as_text=True)
    shown = [(row["id"], version(page, row["id"]))]
    assert "/thumbnail" not in page
    store_media(app, db, row, image_bytes())  # the events job stores the file just after the row
    body = live(client, owner, f"after={row['seq']}", shown)
    assert [changed["id"] for changed in body["changed"]] == [row["id"]]
    assert f"/messages/{row['id']}/thumbnail" in body["changed"][0]["html"]


def test_live_refuses_a_bad_cursor_or_filter(client, owner):
    for query, problem in (("after=x", "after must be"), ("after=1&status=lost", "Status must be one of")):
        answer = client.get(f"/instances/{owner['id']}/messages/live?{query}")
        assert answer.status_code == 400 and problem in answer.get_json()["message"]


def test_detail_shows_history_and_the_messages_webhook_events(app, client, db, owner):
    row = outgoing(db, owner, "tracked", statuses=("sent", "delivered"))
    other = outgoing(db, owner, "someone else's", statuses=("sent",))
    instance = {**owner, "webhook_url": "https://example.com/hook", "webhook_events": '["status"]'}
    event_id = record_event(db, instance, "status", status_payload(row, "delivered", 1_790_000_000))
    webhook_events.record_attempt(
        db,
        event_id,
        1,
        "https://example.com/hook",
        "failed",
        status_code=503,
        error="HTTP 503",
        duration_ms=12,
        excerpt=None,
    )
    webhook_events.record_attempt(
        db,
        event_id,
        2,
        "https://example.com/hook",
        "delivered",
        status_code=200,
        error=None,
        duration_ms=7,
        excerpt=None,
    )
    unrelated = record_event(db, instance, "status", status_payload(other, "sent", 1_790_000_000))
    html = client.get(f"/instances/{owner['id']}/messages/{row['id']}?status=delivered&before=9").get_data(
        as_text=True
    )
    history = re.findall(r'<tr data-status="(\w+)">', html)
    assert history == ["queued", "sent", "delivered"]
    assert event_id in html and unrelated not in html
    assert "HTTP 503" in html and "12 ms" in html and "7 ms" in html
    assert f'href="/instances/{owner["id"]}/messages?status=delivered&amp;before=9"' in html
    assert re.search(r"<time datetime=\"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\" data-relative>", html)


def test_incoming_detail_finds_its_message_event(client, db, owner):
    row = incoming(db, owner, "ping")
    event_id = record_event(db, owner, "message", {"message": {"id": row["wa_id"], "from": "201000000012"}})
    html = client.get(f"/instances/{owner['id']}/messages/{row['id']}").get_data(as_text=True)
    assert event_id in html and "Not sent: No webhook URL is set." in html
    assert "Amira · +201000000012" in html


def test_another_users_instance_messages_and_media_are_not_found(app, client, db, make_instance, owner):
    theirs, _ = make_instance("Theirs", owner_email="other@example.com")
    row = incoming(db, theirs, "", type="image", mime_type="image/jpeg")
    store_media(app, db, row, image_bytes())
    mine = incoming(db, owner, "mine")
    base = f"/instances/{theirs['id']}/messages"
    for path in (
        base,
        f"{base}/live?after=0",
        f"{base}/{row['id']}",
        f"{base}/{row['id']}/media",
        f"{base}/{row['id']}/media/view",
        f"{base}/{row['id']}/thumbnail",
    ):
        assert client.get(path).status_code == 404, path
    # Their message under my instance's address is not found either.
    for suffix in ("", "/media", "/thumbnail"):
        assert client.get(f"/instances/{owner['id']}/messages/{row['id']}{suffix}").status_code == 404
    assert client.get(f"/instances/{owner['id']}/messages/{mine['id']}").status_code == 200


def test_logged_out_visitors_go_to_the_login_page(client, owner):
    page = client.get(f"/instances/{owner['id']}/messages").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    answer = client.get(f"/instances/{owner['id']}/messages")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


@pytest.mark.parametrize(
    "mime, data, view_disposition",
    [
        ("image/jpeg", image_bytes(), "inline"),
        ("image/png", image_bytes(fmt="PNG"), "inline"),
        (
            "image/svg+xml",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "attachment",
        ),
        ("text/html", b"<script>alert(1)</script>", "attachment"),
        ("application/pdf", b"%PDF-1.4 tiny", "attachment"),
    ],
)
def test_media_headers(app, client, db, owner, mime, data, view_disposition):
    row = incoming(db, owner, "", type="document", mime_type=mime, file_name="file.bin")
    store_media(app, db, row, data)
    base = f"/instances/{owner['id']}/messages/{row['id']}"
    download = client.get(f"{base}/media")
    assert download.status_code == 200 and download.data == data
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.mimetype == mime
    assert "sandbox" in download.headers["Content-Security-Policy"]
    view = client.get(f"{base}/media/view")
    assert view.headers["Content-Disposition"].split(";")[0] == view_disposition
    assert view.headers["X-Content-Type-Options"] == "nosniff"
    thumb = client.get(f"{base}/thumbnail")
    assert thumb.status_code == (200 if view_disposition == "inline" else 404)


def test_thumbnail_is_a_smaller_real_image_cached_beside_the_media(app, client, db, owner):
    row = incoming(db, owner, "", type="image", mime_type="image/jpeg")
    path = store_media(app, db, row, image_bytes((1200, 800)))
    answer = client.get(f"/instances/{owner['id']}/messages/{row['id']}/thumbnail")
    assert answer.status_code == 200 and answer.mimetype == "image/webp"
    assert answer.headers["Content-Disposition"] == "inline"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    with Image.open(io.BytesIO(answer.data)) as thumb:
        assert thumb.format == "WEBP"
        assert max(thumb.size) <= 160 and thumb.size == (160, 107)
    cached = path + ".thumb.webp"
    with open(cached, "rb") as file:
        assert file.read() == answer.data
    page = client.get(f"/instances/{owner['id']}/messages").get_data(as_text=True)
    assert f"/messages/{row['id']}/thumbnail" in page and f"/messages/{row['id']}/media" in page


def test_a_file_that_is_not_an_image_gets_no_thumbnail(app, client, db, owner):
    row = incoming(db, owner, "", type="image", mime_type="image/png")
    store_media(app, db, row, b"not an image at all")
    assert client.get(f"/instances/{owner['id']}/messages/{row['id']}/thumbnail").status_code == 404


def test_media_outside_its_place_is_never_served(app, client, db, owner):
    row = incoming(db, owner, "", type="document", mime_type="application/octet-stream")
    message_log.set_media_path(db, row["id"], app.config["DATABASE"])  # a path that is not this message's
    assert client.get(f"/instances/{owner['id']}/messages/{row['id']}/media").status_code == 404


def test_media_past_retention_is_explained(app, client, db, owner):
    row = incoming(db, owner, "", type="image", mime_type="image/jpeg")
    os.unlink(store_media(app, db, row, image_bytes()))
    assert client.get(f"/instances/{owner['id']}/messages/{row['id']}/media").status_code == 404
    page = client.get(f"/instances/{owner['id']}/messages").get_data(as_text=True)
    assert "Media no longer kept" in page and "/thumbnail" not in page


# --- in chromium, with a live runner (simulator), events and webhook workers --------------------

LIVE_WAIT = 30_000  # ms: the runner, the events worker and a poll on a busy machine

THUMB_DRAWN = """() => { const img = document.querySelector('#messages img.thumb');
  return img && img.complete && img.naturalWidth > 0 ? [img.naturalWidth, img.naturalHeight] : null; }"""


@pytest.fixture
def config_overrides(config_overrides):
    """The webhook receiver is on loopback; short backoff."""
    return {**config_overrides, **WEBHOOK_TEST_CONFIG}


def log_in(page, live_server: str, email: str = "owner@example.com") -> None:
    page.goto(live_server + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def both_widths(page, name: str) -> None:
    """Screenshots at 1280 and 390 px, and no sideways scrolling at either."""
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        check_layout(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})


def receipt(client, headers, message_id: str, status: str) -> None:
    answer = client.post(
        "/api/simulator/receipt", headers=headers, json={"message_id": message_id, "status": status}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_a_message_sent_from_the_api_appears_and_updates_live(
    page, log, live_server, client, connected_instance
):
    instance, _, headers = connected_instance
    log_in(page, live_server)
    page.goto(f"{live_server}/instances/{instance['id']}/messages")
    expect(page.locator("#empty")).to_contain_text("No messages yet")
    both_widths(page, "messages-empty")
    page.evaluate("window.notReloaded = true")

    sent = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201000000020", "text": "Live hello"},
    )
    assert sent.status_code == 200, sent.get_data(as_text=True)
    message_id = sent.get_json()["id"]
    row = page.locator(f'#messages tr[data-message="{message_id}"]')
    expect(row).to_contain_text("Live hello", timeout=LIVE_WAIT)
    expect(row.locator(".chip")).to_have_text("sent", timeout=LIVE_WAIT)
    expect(page.locator("#empty")).to_be_hidden()
    receipt(client, headers, message_id, "delivered")
    expect(row.locator(".chip")).to_have_text("delivered", timeout=LIVE_WAIT)
    receipt(client, headers, message_id, "read")
    expect(row.locator(".chip")).to_have_text("read", timeout=LIVE_WAIT)
    assert page.locator("#messages tbody tr").count() == 1  # no duplicate rows
    assert page.evaluate("window.notReloaded") is True
    both_widths(page, "messages-live")
    assert log.page_errors == []
    assert log.off_origin(live_server) == []


def test_an_incoming_image_shows_its_thumbnail_on_a_filtered_page(
    page, log, live_server, client, connected_instance
):
    instance, _, headers = connected_instance
    log_in(page, live_server)
    page.goto(f"{live_server}/instances/{instance['id']}/messages?direction=in")
    page.evaluate("window.notReloaded = true")
    sent = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201000000020", "text": "Outgoing"},
    )
    assert sent.status_code == 200
    image = image_bytes((800, 600), "PNG")
    arrived = client.post(
        "/api/simulator/incoming",
        headers=headers,
        json={
            "from": "+201000000030",
            "push_name": "Nadia",
            "type": "image",
            "caption": "The receipt",
            "mime_type": "image/png",
            "file_name": "receipt.png",
            "media": base64.b64encode(image).decode(),
        },
    )
    assert arrived.status_code == 200, arrived.get_data(as_text=True)
    rows = page.locator("#messages tbody tr")
    expect(rows.first).to_contain_text("Nadia", timeout=LIVE_WAIT)
    width, height = page.wait_for_function(THUMB_DRAWN, timeout=LIVE_WAIT).json_value()
    assert (width, height) == (160, 120)
    expect(rows.first).to_contain_text("Download receipt.png")
    expect(rows).to_have_count(1)  # the outgoing message (sent first) does not match the filter
    assert page.evaluate("window.notReloaded") is True
    both_widths(page, "messages-incoming-image")

    with page.expect_download() as download:
        rows.first.locator("a.download").click()
    assert download.value.suggested_filename == "receipt.png"
    assert log.page_errors == []


def test_the_detail_view_shows_every_status_and_the_webhook_deliveries(
    page, log, live_server, app, client, db, connected_instance, scripted_receiver
):
    instance, _, headers = connected_instance
    db["instances"].update(instance["id"], {"webhook_url": scripted_receiver.url})
    sent = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201000000020", "text": "Track me"},
    )
    assert sent.status_code == 200
    message_id = sent.get_json()["id"]
    receipt(client, headers, message_id, "delivered")
    receipt(client, headers, message_id, "read")

    def delivered_status_events() -> list:
        rows = db.execute(
            "SELECT json_extract(payload, '$.status.status') FROM webhook_events WHERE kind = 'status'"
            " AND json_extract(payload, '$.status.id') = ? AND status = 'delivered'",
            [message_id],
        ).fetchall()
        return sorted(row[0] for row in rows) if len(rows) == 3 else []

    assert wait_for(delivered_status_events, 30, what="three delivered status webhooks") == [
        "delivered",
        "read",
        "sent",
    ]

    log_in(page, live_server)
    page.goto(f"{live_server}/instances/{instance['id']}/messages?direction=out&q=track")
    page.click(f'tr[data-message="{message_id}"] a:text("Details")')
    history = page.locator("#history tbody tr")
    expect(history).to_have_count(4)
    assert [history.nth(n).get_attribute("data-status") for n in range(4)] == [
        "queued",
        "sent",
        "delivered",
        "read",
    ]
    events = page.locator(".event")
    expect(events).to_have_count(3)
    for n, status in enumerate(("sent", "delivered", "read")):
        expect(events.nth(n)).to_contain_text(f"status event “{status}” · webhook delivered")
        expect(events.nth(n).locator(".attempts tbody tr td").nth(2)).to_have_text("200")
    both_widths(page, "message-detail")
    page.click("#back-to-list")
    assert page.url.endswith(f"/instances/{instance['id']}/messages?direction=out&q=track")
    expect(page.locator("#messages tbody tr")).to_have_count(1)
    assert log.page_errors == []


def test_a_full_page_and_a_refused_filter_fit_the_screen(app, page, log, live_server, db, make_instance):
    instance, _ = make_instance(owner_email="owner@example.com")
    for n in range(55):
        outgoing(
            db,
            instance,
            f"Order {n} confirmed: " + "a-rather-long-unbroken-word" * 3,
            statuses=("sent",) * (n % 2),
        )
    photo = incoming(
        db, instance, "", type="image", caption="Shelf photo", mime_type="image/jpeg", file_name="shelf.jpg"
    )
    store_media(app, db, photo, image_bytes())
    failed = outgoing(db, instance, "Never arrived")
    message_log.set_status(
        db, failed["id"], "failed", error="WhatsApp session did not pick the message up in time."
    )
    log_in(page, live_server)
    page.goto(f"{live_server}/instances/{instance['id']}/messages")
    expect(page.locator("#messages tbody tr")).to_have_count(50)
    page.wait_for_function(THUMB_DRAWN)
    both_widths(page, "messages-page")
    refused = page.goto(f"{live_server}/instances/{instance['id']}/messages?status=lost&number=abc")
    assert refused.status == 400
    expect(page.locator("#filter-errors li")).to_have_count(2)
    assert page.locator("#messages").count() == 0
    both_widths(page, "messages-refused-filter")
    assert log.page_errors == []
