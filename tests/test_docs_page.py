"""GET /docs: public, built from the OpenAPI document, and every example on it works on a live server."""

import base64
import hashlib
import json
import re

import pytest
import requests

from megamsg.web.docs.error_codes import error_codes
from megamsg.web.docs.openapi_view import find, operations
from megamsg.web.docs.webhook_events import webhook_events
from tests.conftest import login, outbox, wait_for
from tests.docs_support import (
    example,
    page_examples,
    page_operations,
    run_request_example,
    with_credentials,
)
from tests.media_samples import png_bytes

SEND = "/api/whatsapp/messages/send"
LANGUAGES = ["shell", "php", "javascript", "python"]


@pytest.fixture
def docs_html(client) -> str:
    response = client.get("/docs")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_docs_is_public_and_has_every_api_operation_of_the_document(client, docs_html):
    doc = client.get("/api/openapi.json").get_json()
    documented = [f"{operation.method.upper()} {operation.path}" for operation in operations(doc)]
    on_page = page_operations(docs_html)
    missing = [operation for operation in documented if operation not in on_page]
    assert missing == [], "operations of /api/openapi.json missing from /docs"
    assert sorted(on_page) == sorted(documented)  # each once, nothing invented
    assert len(documented) >= 19


def test_docs_has_every_error_status_and_webhook_event(client, docs_html):
    doc = client.get("/api/openapi.json").get_json()
    for row in error_codes(doc):
        assert f'data-status="{row.status}"' in docs_html
    assert {400, 401, 404, 405, 409, 413, 415, 422, 429, 500, 502, 503} <= {
        row.status for row in error_codes(doc)
    }
    for event in webhook_events(doc):
        assert f'data-event="{event.kind}"' in docs_html
    assert set(re.findall(r'data-event="(\w+)"', docs_html)) == {"message", "status", "session", "test"}


def test_every_link_within_the_page_has_its_target(docs_html):
    targets = set(re.findall(r'\bid="([^"]+)"', docs_html))
    links = set(re.findall(r'href="#([^"]+)"', docs_html))
    assert links and links - targets == set()


def test_the_send_tables_come_from_the_document(client, docs_html):
    send = find(operations(client.get("/api/openapi.json").get_json()), "post", SEND)
    section = docs_html.split('id="send-message"', 1)[1].split('id="webhooks"', 1)[0]
    for row in (*send.parameters, *send.body_fields):
        assert f"<code>{row.name}</code>" in section, row.name
    for name in ("async", "Idempotency-Key", "ignored_fields"):
        assert f"<code>{name}</code>" in section
    from megamsg.web.api.request_schemas import MAX_CAPTION

    assert f"at most {MAX_CAPTION} characters" in section


def test_examples_use_the_servers_own_base_url(app):
    html = app.test_client().get("/docs", base_url="https://gateway.example.com").get_data(as_text=True)
    urls = [
        url for found in page_examples(html) for url in re.findall(r"https?://[^\s\"'\\]+", found["code"])
    ]
    api_urls = [url for url in urls if "/api/" in url]
    assert api_urls and all(url.startswith("https://gateway.example.com/api/") for url in api_urls)
    assert 'id="base-url">https://gateway.example.com<' in html


@pytest.fixture
def workdir(tmp_path):
    """Where examples run (the app's data lives elsewhere in tmp_path)."""
    path = tmp_path / "examples"
    path.mkdir()
    return path


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_send_example_sends_the_message(language, workdir, live_server, client, connected_instance):
    instance, token, headers = connected_instance
    html = requests.get(live_server + "/docs", timeout=30).text
    code = with_credentials(example(html, "send-example", language), instance["id"], token)
    assert live_server + SEND in code and "YOUR_" not in code
    status, output = run_request_example(language, code, str(workdir))
    assert status == 200, output
    [sent] = outbox(client, headers)
    assert (sent["to"], sent["type"], sent["text"]) == ("+201234567890", "text", "Hello from MegaMsg!")


def test_the_extra_send_bodies_work(live_server, client, connected_instance):
    instance, token, headers = connected_instance
    html = requests.get(live_server + "/docs", timeout=30).text
    bodies = [
        json.loads(found["code"]) for found in page_examples(html) if found["id"].startswith("send-body-")
    ]
    assert len(bodies) >= 4
    local = [body for body in bodies if not str(body.get("media", "")).startswith("http")]
    # A reply or a reaction names a message of the log: the reader puts one of theirs in place.
    incoming = {"from": "+201234567890", "text": "Hi"}
    message_id = client.post("/api/simulator/incoming", headers=headers, json=incoming).get_json()["id"]
    logged = f"/api/whatsapp/messages/{message_id}"
    wait_for(lambda: client.get(logged, headers=headers).status_code == 200, 20, what="a message in the log")
    for body in local:
        body.update({name: message_id for name in ("reply_to", "message_id") if name in body})
    answers = [requests.post(live_server + SEND, headers=headers, json=body, timeout=60) for body in local]
    expected = [202 if body.get("async") or body.get("send_at") else 200 for body in local]
    assert [answer.status_code for answer in answers] == expected
    documents = [body for body in local if body.get("type") == "document"]
    assert documents, "a body that runs without fetching a URL"

    def arrived() -> list[dict]:
        return [sent for sent in outbox(client, headers) if sent["type"] == "document"]

    [sent] = wait_for(arrived, 20, what="the document in the outbox")
    data = base64.b64decode(documents[0]["media"])
    assert sent["file_name"] == documents[0]["file_name"]
    assert sent["media_sha256"] == hashlib.sha256(data).hexdigest()


def test_the_documented_error_example_is_the_servers_answer(client, docs_html, connected_instance):
    _, _, headers = connected_instance
    shown = json.loads(example(docs_html, "send-error-422", "json"))
    answer = client.post(SEND, headers=headers, json={"phone_number": "+201234567890"})
    assert answer.status_code == 422 and answer.get_json() == shown


# The session's state when the example runs decides between these (all documented).
# The example cancels a message that cannot be cancelled (already received): 409, as documented.
ALLOWED = {"op-getQr": {409}, "op-requestPairCode": {409}, "op-cancelMessage": {409}}


def test_every_endpoint_curl_example_works(workdir, live_server, app, client, connected_instance):
    instance, token, headers = connected_instance
    sent = client.post(SEND, headers=headers, json={"phone_number": "+201234567890", "text": "for a receipt"})
    sent_id = sent.get_json()["id"]
    image = base64.b64encode(png_bytes()).decode()
    incoming = client.post(
        "/api/simulator/incoming",
        headers=headers,
        json={"from": "+201234567890", "type": "image", "media": image, "mime_type": "image/png"},
    )
    incoming_id = incoming.get_json()["id"]
    wait_for(
        lambda: client.get(f"/api/whatsapp/messages/{incoming_id}", headers=headers).status_code == 200,
        20,
        what="the incoming image in the message log",
    )
    doc = client.get("/api/openapi.json").get_json()
    by_anchor = {operation.anchor: operation for operation in operations(doc)}
    html = requests.get(live_server + "/docs", timeout=30).text
    curls = [found for found in page_examples(html) if found["id"].startswith("curl-op-")]
    # The account API's examples take an account key: tests/test_account_api.py runs them.
    account = {
        anchor for anchor, operation in by_anchor.items() if operation.path.startswith("/api/account/")
    }
    assert {found["id"].removeprefix("curl-") for found in curls} == set(by_anchor) - {
        "op-sendMessage"
    } - account
    for found in curls:
        anchor = found["id"].removeprefix("curl-")
        if anchor == "op-simulatorScan":
            # After the logout example a fresh QR code comes; a reader would wait for it too.
            wait_for(
                lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["status"] == "qr",
                20,
                what="a QR code after the logout",
            )
        message_id = sent_id if anchor == "op-simulatorReceipt" else incoming_id
        code = with_credentials(found["code"], instance["id"], token).replace("MESSAGE_ID", message_id)
        status, output = run_request_example("shell", code, str(workdir))
        operation = by_anchor[anchor]
        assert status in ALLOWED.get(anchor, {200}), f"{anchor}: {output}"
        assert operation.response(str(status)) is not None, f"{anchor} answered an undocumented {status}"
    downloads = [path for path in workdir.iterdir() if path.name != ".curlrc"]
    assert [path.read_bytes() for path in downloads] == [png_bytes()]  # the media example saved the image


def test_the_instance_page_curl_has_its_id_and_works(workdir, live_server, app, client, connected_instance):
    instance, token, headers = connected_instance
    login(client, "owner@example.com")
    page = client.get(f"/instances/{instance['id']}").get_data(as_text=True)
    assert 'id="api-help"' in page and 'id="sandbox-link"' in page
    code = example(page, "instance-send", "shell")
    assert f"X-Instance-Id: {instance['id']}" in code and "YOUR_TOKEN" in code
    # The page's own address is the test client's; the live server has the same app.
    code = code.replace("http://localhost", live_server).replace("YOUR_TOKEN", token)
    status, output = run_request_example("shell", code, str(workdir))
    assert status == 200, output
    [sent] = outbox(client, headers)
    assert sent["text"] == "Hello from MegaMsg!"
