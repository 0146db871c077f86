"""Request validation from the JSON Schemas in request_schemas: every 422 names its field, per endpoint."""

import base64
import binascii
import re
import sys

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from megamsg.errors import ApiError
from megamsg.web.api import openapi, request_schemas
from megamsg.web.api.request_schemas import (
    BASE64_PATTERN,
    NOT_BLANK,
    PRINTABLE_HEADER,
    SEND,
    SEND_TYPES,
)
from megamsg.web.validation import RequestSchema, python_regex
from tests.conftest import auth_headers

PHONE = "+201234567890"
SEND_PATH = "/api/whatsapp/messages/send"
WEBHOOK = "/api/whatsapp/instance/webhook"
PAIR_CODE = "/api/whatsapp/instance/pair-code"
PHONE_REQUIRED = "is required: an international number with country code, e.g. +201234567890."
ONLY_MEDIA = "is only allowed for media types (image, audio, video, document)."
EVENTS = "message, status, session"

BAD_BODIES = [
    # POST /api/whatsapp/messages/send
    (SEND_PATH, {"text": "x"}, f"phone_number {PHONE_REQUIRED}"),
    (SEND_PATH, {"phone_number": None, "text": "x"}, f"phone_number {PHONE_REQUIRED}"),
    (SEND_PATH, {"phone_number": 5, "text": "x"}, "phone_number must be a string."),
    (
        SEND_PATH,
        {"phone_number": "+20 12a", "text": "x"},
        "phone_number may contain only digits, an optional leading +, spaces and dashes.",
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": ""},
        "type must be one of: text, image, audio, video, document, location, reaction.",
    ),
    (SEND_PATH, {"phone_number": PHONE, "type": None}, "text is required when type is text."),
    (SEND_PATH, {"phone_number": PHONE, "text": None}, "text is required when type is text."),
    (SEND_PATH, {"phone_number": PHONE, "text": " \t\u3000"}, "text must not be empty."),
    (SEND_PATH, {"phone_number": PHONE, "text": "x", "async": 1}, "async must be a boolean (true or false)."),
    (SEND_PATH, {"phone_number": PHONE, "text": "x", "media": ""}, f"media {ONLY_MEDIA}"),
    (SEND_PATH, {"phone_number": PHONE, "text": "x", "file_name": "a"}, f"file_name {ONLY_MEDIA}"),
    (
        SEND_PATH,
        {"phone_number": PHONE, "text": "x", "ptt": False},
        "ptt is only allowed when type is audio.",
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "video", "media": "m", "ptt": True},
        "ptt is only allowed when type is audio.",
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "image", "media": "m", "text": "t"},
        "text is only for type text; use caption for image.",
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "video"},
        "media is required when type is video: an http(s) URL or base64.",
    ),
    (SEND_PATH, {"phone_number": PHONE, "type": "video", "media": " "}, "media must not be empty."),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "image", "media": "m", "caption": "c" * 1025},
        "caption must be at most 1024 characters.",
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "audio", "media": "m", "caption": 5},
        "caption must be a string.",
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "image", "media": "m", "mime_type": "png"},
        "mime_type must look like type/subtype, e.g. application/pdf.",
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "document", "media": "m", "file_name": "a.pdf"},
        "mime_type is required for documents.",
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "document", "media": "m", "mime_type": " ", "file_name": "a.pdf"},
        "mime_type must not be empty.",
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "document", "media": "m", "mime_type": "a/b", "file_name": None},
        "file_name is required for documents.",
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "document", "media": "m", "mime_type": "a/b", "file_name": "..\\a"},
        "file_name must be a plain file name without slashes or control characters.",
    ),
    *(
        (
            SEND_PATH,
            {"phone_number": PHONE, "type": "document", "media": "m", "mime_type": "a/b", "file_name": name},
            "file_name must be a plain file name without slashes or control characters.",
        )
        # CR/LF would split a Content-Disposition header; the others are no file name either.
        for name in ("a.pdf\r\nSet-Cookie: x=1", "a\nb.pdf", "tab\there.pdf", "del\x7f.pdf", "c1\x85.pdf")
    ),
    (
        SEND_PATH,
        {"phone_number": PHONE, "type": "document", "media": "m", "mime_type": "a/b", "file_name": "x" * 256},
        "file_name must be at most 255 characters.",
    ),
    # PUT /api/whatsapp/instance/webhook
    (WEBHOOK, {}, "url is required: an http(s) URL, or null to clear it."),
    (WEBHOOK, {"url": 5}, "url must be an http(s) URL or null."),
    (WEBHOOK, {"url": ""}, "url must be an http(s) URL or null."),
    (WEBHOOK, {"url": "ftp://example.com/"}, "url must be an absolute http:// or https:// URL."),
    (WEBHOOK, {"url": "https://example.com:99999/"}, "url is not a valid URL (check the host and port)."),
    (WEBHOOK, {"url": "https://" + "a" * 2048}, "url must be at most 2048 characters."),
    (WEBHOOK, {"url": None, "events": "message"}, f"events must be a list of event kinds ({EVENTS})."),
    (WEBHOOK, {"url": None, "events": ["message", "x"]}, f"events: unknown kind(s) x; use {EVENTS}."),
    # POST /api/whatsapp/instance/pair-code
    (PAIR_CODE, {}, f"phone_number {PHONE_REQUIRED}"),
    (PAIR_CODE, {"phone_number": ""}, f"phone_number {PHONE_REQUIRED}"),
    (
        PAIR_CODE,
        {"phone_number": "12"},
        "phone_number is not an international number (include the country code, e.g. +20…).",
    ),
    # Simulator control
    ("/api/simulator/scan", {"push_name": "A"}, f"phone_number {PHONE_REQUIRED}"),
    ("/api/simulator/scan", {"phone_number": PHONE, "push_name": 5}, "push_name must be a string."),
    (
        "/api/simulator/scan",
        {"phone_number": PHONE, "push_name": "n" * 101},
        "push_name must be at most 100 characters.",
    ),
    ("/api/simulator/incoming", {"text": "x"}, f"from {PHONE_REQUIRED}"),
    ("/api/simulator/incoming", {"from": PHONE}, "text is required for types text and edited."),
    ("/api/simulator/incoming", {"from": PHONE, "text": ""}, "text must not be empty."),
    (
        "/api/simulator/incoming",
        {"from": PHONE, "type": "poll"},
        "type must be one of: text, image, audio, video, document, sticker, location, contact, reaction, edited, deleted.",
    ),
    (
        "/api/simulator/incoming",
        {"from": PHONE, "text": "x", "is_group": None},
        "is_group must be a boolean (true or false).",
    ),
    ("/api/simulator/incoming", {"from": PHONE, "text": "x", "media": "%%"}, "media must be base64."),
    ("/api/simulator/incoming", {"from": PHONE, "text": "x", "media": "AAAA\n"}, "media must be base64."),
    (
        "/api/simulator/incoming",
        {"from": PHONE, "text": "x", "id": "i" * 65},
        "id must be at most 64 characters.",
    ),
    ("/api/simulator/receipt", {"status": "read"}, "message_id is required."),
    ("/api/simulator/receipt", {"message_id": "", "status": "read"}, "message_id must not be empty."),
    (
        "/api/simulator/receipt",
        {"message_id": "m", "status": "seen"},
        "status must be one of: delivered, read, played.",
    ),
    ("/api/simulator/fail-next", {"message": 5}, "message must be a string."),
    ("/api/simulator/fail-next", {"message": "m" * 501}, "message must be at most 500 characters."),
    ("/api/simulator/delay-next", {}, "seconds is required."),
    ("/api/simulator/delay-next", {"seconds": 0}, "seconds must be a number above 0 and at most 120."),
    ("/api/simulator/delay-next", {"seconds": 120.5}, "seconds must be a number above 0 and at most 120."),
    ("/api/simulator/delay-next", {"seconds": True}, "seconds must be a number."),
]


@pytest.mark.parametrize("path,body,message", BAD_BODIES)
def test_bad_bodies_are_422_naming_the_field(client, make_instance, path, body, message):
    instance, token = make_instance()
    method = "PUT" if path == WEBHOOK else "POST"
    response = client.open(path, method=method, json=body, headers=auth_headers(instance["id"], token))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json() == {"ok": False, "message": message}


# Without a runner, a body that passes validation gets as far as the session: 502.
ACCEPTED_BODIES = [
    (SEND_PATH, {"phone_number": "0020 123-456-7890", "text": "x", "type": None, "async": None}),
    (SEND_PATH, {"phone_number": PHONE, "text": "x", **dict.fromkeys(("media", "caption", "ptt"))}),
    (PAIR_CODE, {"phone_number": "+20 (123) 456.7890", "unknown": 1}),
    ("/api/simulator/incoming", {"from": PHONE, "type": "sticker", "media": "", "text": None}),
    ("/api/simulator/fail-next", {"message": None}),
    ("/api/simulator/delay-next", {"seconds": 0.5}),
]


@pytest.mark.parametrize("path,body", ACCEPTED_BODIES)
def test_valid_bodies_pass_validation(client, make_instance, path, body):
    instance, token = make_instance()
    response = client.post(path, json=body, headers=auth_headers(instance["id"], token))
    assert response.status_code == 502, response.get_data(as_text=True)


@pytest.mark.parametrize(
    "query,message",
    [
        ("limit=0", "limit must be between 1 and 100."),
        ("limit=x", "limit must be an integer."),
        ("limit=2.5", "limit must be an integer."),
        ("before=0", "before must be between 1 and 9223372036854775807."),
        ("direction=up", "direction must be one of: in, out."),
        (None, None),
        ("limit=&before=&direction=", None),  # empty counts as absent, as the contract spells it
        ("limit=10.0&direction=in", None),  # 10.0 is an integer to JSON Schema
    ],
)
def test_message_list_query(client, make_instance, query, message):
    instance, token = make_instance()
    path = "/api/whatsapp/messages" + (f"?{query}" if query else "")
    response = client.get(path, headers=auth_headers(instance["id"], token))
    if message is None:
        assert response.status_code == 200, response.get_data(as_text=True)
    else:
        assert (response.status_code, response.get_json()) == (422, {"ok": False, "message": message})


@pytest.mark.parametrize(
    "key,message",
    [
        ("k" * 256, "Idempotency-Key must be at most 255 characters."),
        ("key\xa01", "Idempotency-Key must contain only printable characters."),
    ],
)
def test_idempotency_key_header(client, make_instance, key, message):
    instance, token = make_instance()
    response = client.post(
        SEND_PATH,
        json={"phone_number": PHONE, "text": "x"},
        headers={**auth_headers(instance["id"], token), "Idempotency-Key": key},
    )
    assert (response.status_code, response.get_json()) == (422, {"ok": False, "message": message})


def test_the_document_shows_the_very_schemas_the_server_validates_with():
    components = openapi.openapi_document({})["components"]
    schemas = components["schemas"]
    for name, checked in [
        ("PairCodeRequest", request_schemas.PAIR_CODE),
        ("WebhookRequest", request_schemas.WEBHOOK),
        ("ScanRequest", request_schemas.SCAN),
        ("IncomingRequest", request_schemas.INCOMING),
        ("ReceiptRequest", request_schemas.RECEIPT),
        ("FailNextRequest", request_schemas.FAIL_NEXT),
        ("DelayNextRequest", request_schemas.DELAY_NEXT),
    ]:
        assert schemas[name] is checked.schema, name
    for kind, variant in SEND_TYPES.items():
        assert schemas[f"{kind.capitalize()}Message"] is variant.schema
    assert schemas["SendRequest"]["properties"] is SEND.schema["properties"]
    key = components["parameters"]["IdempotencyKey"]["schema"]
    assert key is request_schemas.SEND_HEADERS.schema["properties"]["Idempotency-Key"]
    parameters = openapi.openapi_document({})["paths"]["/api/whatsapp/messages"]["get"]["parameters"]
    queried = {p["name"]: p["schema"] for p in parameters if p.get("in") == "query"}
    assert queried == request_schemas.LIST_QUERY.schema["properties"]


def test_not_blank_is_what_str_strip_calls_blank_in_every_regex_dialect():
    # Python's re (the server), jsonschema_rs (schemathesis) and ECMA-262 disagree about \s.
    rust = jsonschema_rs.validator_for({"pattern": NOT_BLANK})
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        blank = not char.strip()
        assert (re.search(NOT_BLANK, char) is None) == blank, hex(code)
        assert (not rust.is_valid(char)) == blank, hex(code)


def test_printable_header_is_str_isprintable_over_latin_1():
    printable = re.compile(python_regex(PRINTABLE_HEADER))
    for code in range(256):
        assert bool(printable.search(chr(code))) == chr(code).isprintable(), hex(code)


@settings(max_examples=500, deadline=None)
@given(st.from_regex(BASE64_PATTERN, fullmatch=True))
def test_what_the_base64_pattern_allows_decodes(text):
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        pytest.fail(f"{text!r}: {exc}")


def test_a_final_dollar_means_the_very_end_as_in_ecma_262():
    schema = RequestSchema(
        {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}},
        formats={},
        patterns={"^[a-z]+$": "must be lower-case letters."},
    )
    assert schema.check({"name": "abc"}) == {"name": "abc"}
    with pytest.raises(ApiError) as refused:
        schema.check({"name": "abc\n"})
    assert refused.value.message == "name must be lower-case letters."
