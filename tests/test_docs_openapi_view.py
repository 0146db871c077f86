"""The guide's reading of the OpenAPI document: $refs, variants, field tables and samples."""

import ast
import json
import shlex
import shutil
import subprocess

import pytest

from megamsg.errors import MESSAGES
from megamsg.web.api.openapi import openapi_document
from megamsg.web.docs import literals
from megamsg.web.docs.code_examples import Call, curl, php, python
from megamsg.web.docs.error_codes import WHEN, error_codes, error_statuses
from megamsg.web.docs.guide_content import MORE_BODIES, SEND_PATH
from megamsg.web.docs.openapi_view import find, operations
from megamsg.web.docs.schema_fields import fields
from megamsg.web.docs.schema_samples import sample
from megamsg.web.docs.schema_walk import flatten, resolve, variant_labels, variants
from megamsg.web.docs.webhook_events import SCHEMAS, webhook_events
from tests.docs_support import schema_errors

DOC = openapi_document({})


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


# The send body as the request-schema rework spells it: common fields in an object, per-type rules
# in a oneOf of $refs, fields a type does not take as {"type": "null"}, an allOf inside a property.
NOT_ALLOWED = {"type": "null", "description": "Not for this type."}
REWORKED = {
    "components": {
        "schemas": {
            "SendRequest": {
                "type": "object",
                "required": ["phone_number"],
                "properties": {
                    "phone_number": {
                        "type": "string",
                        "description": "Recipient.",
                        "examples": ["+201234567890"],
                    },
                    "type": {"enum": ["text", "image", "document", None], "default": "text"},
                    "async": {"type": ["boolean", "null"], "default": False},
                },
                "oneOf": [ref("TextMessage"), ref("ImageMessage"), ref("DocumentMessage")],
            },
            "TextMessage": {
                "type": "object",
                "required": ["text"],
                "properties": {
                    "type": {"enum": ["text", None]},
                    "text": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 65536,
                        "description": "The text.",
                    },
                    "media": NOT_ALLOWED,
                    "file_name": NOT_ALLOWED,
                },
            },
            "ImageMessage": {
                "type": "object",
                "required": ["type", "media"],
                "properties": {
                    "type": {"const": "image"},
                    "media": {"type": "string", "description": "URL or base64."},
                    "file_name": {"type": ["string", "null"], "description": "Ignored for images."},
                    "text": NOT_ALLOWED,
                },
            },
            "DocumentMessage": {
                "type": "object",
                "required": ["type", "media", "file_name"],
                "properties": {
                    "type": {"const": "document"},
                    "media": {"type": "string", "description": "URL or base64."},
                    "file_name": {
                        "type": "string",
                        "maxLength": 255,
                        "allOf": [{"minLength": 1}],
                        "description": "Shown to the recipient.",
                    },
                    "text": NOT_ALLOWED,
                },
            },
        }
    }
}


def by_name(rows) -> dict:
    return {row.name: row for row in rows}


def test_resolve_follows_chains_keeps_siblings_and_refuses_cycles():
    doc = {"components": {"schemas": {"A": ref("B"), "B": {"type": "string"}, "C": ref("C")}}}
    assert resolve(doc, ref("A")) == {"type": "string"}
    assert resolve(doc, {**ref("B"), "description": "x"}) == {"type": "string", "description": "x"}
    with pytest.raises(ValueError, match="circular"):
        resolve(doc, ref("C"))
    with pytest.raises(ValueError, match="local"):
        resolve(doc, {"$ref": "https://example.com/schema.json"})


def test_a_base_object_with_a_oneof_of_refs_gives_one_merged_variant_per_type():
    options = variants(REWORKED, ref("SendRequest"))
    assert variant_labels(REWORKED, options) == ["text", "image", "document"]
    assert [sorted(option["required"]) for option in options] == [
        ["phone_number", "text"],
        ["media", "phone_number", "type"],
        ["file_name", "media", "phone_number", "type"],
    ]
    assert flatten(REWORKED, options[2]["properties"]["file_name"])["minLength"] == 1  # allOf merged


def test_fields_say_for_which_types_a_field_is_required():
    rows = by_name(fields(REWORKED, ref("SendRequest"), drop_null=True))
    assert list(rows) == ["phone_number", "type", "async", "text", "media", "file_name"]
    assert rows["phone_number"].required == "required"
    assert rows["type"].required == "required for image, document; optional for text"
    assert rows["type"].limits[0] == "one of: text, image, document"
    assert rows["async"].type == "boolean" and "default false" in rows["async"].limits
    assert (rows["text"].required, rows["text"].type) == ("required for text", "string")
    assert rows["text"].limits == ("not empty", "at most 65536 characters")
    assert rows["media"].required == "required for image, document"
    assert rows["file_name"].required == "required for document; optional for image"
    assert [(note.applies_to, note.text) for note in rows["file_name"].notes] == [
        ("image", "Ignored for images."),
        ("document", "Shown to the recipient."),
    ]
    assert "not empty" in rows["file_name"].limits and "at most 255 characters" in rows["file_name"].limits


def test_the_served_send_body_table_lists_every_field_of_every_type():
    send = find(operations(DOC), "post", SEND_PATH)
    listed = {row.name for row in send.body_fields}
    declared = {
        name
        for option in variants(DOC, send.body_schema)
        for name, schema in option.get("properties", {}).items()
        if schema is not False
    }
    assert listed == declared
    assert {"Authorization", "X-Instance-Id", "Idempotency-Key"} <= {row.name for row in send.parameters}
    assert "async" in listed


def test_nested_objects_and_arrays_get_dotted_rows():
    rows = by_name(fields(DOC, SCHEMAS["message"]))
    assert {"message.id", "message.from", "message.media", "message.media.url"} <= set(rows)
    assert rows["message.media"].required == "optional" and rows["message.id"].required == "required"
    listing = find(operations(DOC), "get", "/api/whatsapp/messages").response("200")
    assert "messages[].direction" in by_name(fields(DOC, listing.schema))


@pytest.mark.parametrize("operation", operations(DOC), ids=lambda operation: operation.anchor)
def test_every_sample_on_the_page_is_valid_for_the_document(operation):
    if operation.body_schema is not None:
        assert schema_errors(DOC, operation.body_schema, operation.body_sample) == []
    for response in operation.responses:
        if response.sample is not None:
            assert schema_errors(DOC, response.schema, response.sample) == [], response.status


@pytest.mark.parametrize("title,body", MORE_BODIES, ids=[title for title, _ in MORE_BODIES])
def test_the_extra_send_bodies_are_valid(title, body):
    send = find(operations(DOC), "post", SEND_PATH)
    assert schema_errors(DOC, send.body_schema, body) == []


def test_webhook_events_cover_every_kind_and_their_samples_fit():
    from megamsg.delivery.webhooks import KINDS

    events = webhook_events(DOC)
    assert [event.kind for event in events] == list(KINDS)
    for event in events:
        assert schema_errors(DOC, event.schema, event.sample) == [], event.kind
        assert event.sample["type"] == event.kind


def test_webhook_schemas_from_the_document_win_when_it_has_them():
    schema = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"const": "test"}, "extra": {"type": "integer"}},
    }
    doc = {
        **DOC,
        "webhooks": {
            "test": {"post": {"requestBody": {"content": {"application/json": {"schema": schema}}}}}
        },
    }
    test_event = next(event for event in webhook_events(doc) if event.kind == "test")
    assert test_event.schema == schema and test_event.sample == {"type": "test"}


def test_error_codes_cover_megamsg_and_the_document():
    rows = error_codes(DOC)
    statuses = [row.status for row in rows]
    assert set(statuses) == set(MESSAGES) | error_statuses(DOC)
    assert set(WHEN) <= set(MESSAGES)
    assert all(row.when for row in rows)
    assert all(
        row.body == {"ok": False, "message": MESSAGES[row.status]} for row in rows if row.status in MESSAGES
    )


def test_samples_prefer_examples_then_named_values_then_types():
    doc = {}
    assert sample(doc, {"type": "string", "examples": ["x"]}) == "x"
    assert sample(doc, {"type": "object", "required": ["to"], "properties": {"to": {"type": "string"}}}) == {
        "to": "+201234567890"
    }
    assert sample(doc, {"enum": ["queued", "sent"]}) == "sent"
    assert sample(doc, {"type": ["string", "null"]}, "unknown_name") is None
    assert sample(doc, {"type": "number", "exclusiveMinimum": 0}) == 1


VALUE = {
    "a": 'it\'s \\ "quoted"',
    "n": 1.5,
    "flag": True,
    "none": None,
    "list": [1, "x"],
    "nested": {"k": False},
}


def test_literals_are_valid_in_each_language():
    assert ast.literal_eval(literals.python(VALUE)) == VALUE
    if shutil.which("node"):
        script = f"console.log(JSON.stringify({literals.javascript(VALUE)}))"
        result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30)
        assert json.loads(result.stdout) == VALUE, result.stderr
    assert literals.php("it's \\") == "'it\\'s \\\\'"
    assert literals.php({"k": [True, None]}) == "[\n    'k' => [true, null],\n]"


def test_curl_quotes_bodies_and_urls_for_the_shell():
    call = Call("post", "http://127.0.0.1:8000/api/x?a=1&b=2", body={"text": "it's"})
    words = shlex.split(curl(call).replace("\\\n", " "))
    assert words[:4] == ["curl", "-X", "POST", "http://127.0.0.1:8000/api/x?a=1&b=2"]
    assert json.loads(words[words.index("-d") + 1]) == {"text": "it's"}
    assert "timeout(40)" in php(call) and "timeout=40" in python(call)
