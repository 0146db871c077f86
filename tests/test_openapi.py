"""GET /api/openapi.json: a valid OpenAPI 3.1 document that every real response conforms to."""

import base64
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.definitions import OPENAPI_31
from schemathesis.specs.openapi.formats import unregister_string_format

from megamsg.web.api import openapi
from megamsg.web.api.request_schemas import MEDIA_TYPES, PHONE_FORMAT, SEND_AT_FORMAT, URL_FORMAT
from tests.account_support import ACCOUNT, key_headers, make_key
from tests.conftest import auth_headers, wait_for
from tests.media_samples import make_samples, png_bytes

DOC_URI = "urn:megamsg:openapi"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
SEND = "/api/whatsapp/messages/send"
QR = "/api/whatsapp/instance/qr"
WEBHOOK = "/api/whatsapp/instance/webhook"
# The document does not depend on the configuration for its paths, so tables can come from it.
STATIC_DOC = openapi.openapi_document({})
OPERATIONS = [
    (method.upper(), path)
    for path, item in STATIC_DOC["paths"].items()
    for method in item
    if method in HTTP_METHODS
]
AUTHENTICATED = [op for op in OPERATIONS if STATIC_DOC["paths"][op[1]][op[0].lower()]["security"]]
WITH_BODY = [op for op in OPERATIONS if "requestBody" in STATIC_DOC["paths"][op[1]][op[0].lower()]]
SIMULATOR = [op for op in OPERATIONS if op[1].startswith("/api/simulator/")]
VALID_PHONES = [
    "+201234567890",
    "+20 123-456-7890",
    "0020 1234567890",
    "+1 (650) 253-0000",
    "+44 20 7946 0958",
    "+4915112345678",
    "+55 11 91234-5678",
    "+81 90-1234-5678",
]
# Webhook URLs the server takes (with ALLOW_PRIVATE_URLS): nothing listens on port 9, so the events the
# other operations cause are refused at once, and no test traffic leaves the machine.
VALID_WEBHOOK_URLS = [
    "http://127.0.0.1:9/hook",
    "HTTP://localhost:9/in?source=megamsg#x",
    "http://[::1]:9/hooks/whatsapp",
    "https://user:secret@127.0.0.1:9/hook",
]
# They change the session's state under the other operations' feet; the linked test covers them.
# createInstance: each instance made would start a session runner under the live supervisor.
NOT_FUZZED = ["logout", "simulatorDisconnect", "simulatorReconnect", "simulatorFailNext", "createInstance"]


@pytest.fixture
def doc(client) -> dict:
    """The document as served."""
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def concrete(path: str) -> str:
    """A request path for a template (path parameters filled with an unknown id)."""
    return re.sub(r"\{[^}]+\}", "3EB0UNKNOWN", path)


def template_for(doc: dict, path: str) -> str:
    """The documented path template a request path falls under."""
    if path in doc["paths"]:
        return path
    for template in doc["paths"]:
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), path):
            return template
    raise AssertionError(f"{path} is not documented")


def pointer(*parts: str) -> str:
    """A JSON pointer fragment to parts."""
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def validator_for(doc: dict, ref: str) -> Draft202012Validator:
    """A validator for the schema at ref inside doc, its $refs resolved against doc."""
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": DOC_URI + ref}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid(doc: dict, ref: str, instance: Any, what: str) -> None:
    """instance validates against the schema at ref, or every error is listed."""
    errors = sorted(validator_for(doc, ref).iter_errors(instance), key=lambda error: list(error.path))
    assert not errors, f"{what}: {instance!r} breaks the document:\n" + "\n".join(
        f"  at {list(error.absolute_path)}: {error.message}" for error in errors
    )


def assert_documented(doc: dict, method: str, path: str, response) -> None:
    """The response's status, content type, body and headers are what the document promises."""
    template = template_for(doc, path.split("?")[0])
    what = f"{method} {path} → {response.status_code}"
    responses = doc["paths"][template][method.lower()]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{what} is undocumented: {response.get_data(as_text=True)[:500]}"
    documented = responses[status]
    content = documented.get("content", {})
    if "application/json" in content:
        assert response.mimetype == "application/json", what
        ref = pointer(
            "paths", template, method.lower(), "responses", status, "content", "application/json", "schema"
        )
        assert_valid(doc, ref, response.get_json(), what)
    else:
        assert content, f"{what}: the document promises no body"
    for name, header in documented.get("headers", {}).items():
        value = response.headers.get(name)
        if value is None:
            assert not header.get("required"), f"{what}: missing header {name}"
            continue
        if header["schema"].get("type") == "integer":
            assert value.isdigit(), f"{what}: header {name}={value!r}"
            value = int(value)
        Draft202012Validator(header["schema"]).validate(value)


def embedded_schemas(node: Any, key: str = "") -> list[dict]:
    """Every JSON Schema inside the document (parameter, body, response and header schemas)."""
    found = []
    if key == "schema":
        found.append(node)
    elif isinstance(node, dict):
        if key == "schemas":
            found.extend(node.values())
        else:
            for child_key, child in node.items():
                found.extend(embedded_schemas(child, child_key))
    elif isinstance(node, list):
        for child in node:
            found.extend(embedded_schemas(child))
    return found


def references(node: Any) -> list[str]:
    """Every $ref in the document."""
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [ref for child in node.values() for ref in references(child)]
    if isinstance(node, list):
        return [ref for child in node for ref in references(child)]
    return []


def test_document_is_valid_openapi_31(doc, app, client):
    assert doc == openapi.openapi_document(app.config)
    assert_documented(doc, "GET", "/api/openapi.json", client.get("/api/openapi.json"))
    Draft202012Validator(OPENAPI_31).validate(doc)
    for schema in embedded_schemas(doc):
        Draft202012Validator.check_schema(schema)
    for ref in set(references(doc)):
        assert ref.startswith("#/"), ref
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
    operation_ids = [doc["paths"][path][method.lower()]["operationId"] for method, path in OPERATIONS]
    assert len(operation_ids) == len(set(operation_ids))
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            assert declared == set(re.findall(r"\{([^}]+)\}", path)), f"{method} {path}"
    assert doc["servers"] == [{"url": "/"}]


def test_every_api_route_is_documented(app, doc):
    routed = {
        (method, re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    assert routed - documented == set(), "routes without documentation"
    assert documented - routed == set(), "documented operations that do not exist"


def test_openapi_json_is_public_and_says_whether_the_simulator_is_on(client, app):
    def description() -> str:
        return client.get("/api/openapi.json").get_json()["paths"]["/api/openapi.json"]["get"]["description"]

    assert "enabled" in description()
    app.config["WHATSAPP_DRIVER"] = "neonize"
    assert "disabled" in description()


@pytest.mark.parametrize("method,path", AUTHENTICATED, ids=[f"{m} {p}" for m, p in AUTHENTICATED])
def test_no_credentials_is_documented_401(client, doc, method, path):
    response = client.open(concrete(path), method=method, json={})
    assert response.status_code == 401
    assert response.get_json() == {"ok": False, "message": "Unauthorized."}
    assert_documented(doc, method, concrete(path), response)


NO_RUNNER = [
    ("GET", "/api/whatsapp/instance", None, 200),
    ("GET", QR, None, 409),
    ("GET", "/api/whatsapp/messages", None, 200),
    ("GET", "/api/whatsapp/messages?limit=101", None, 422),
    ("GET", "/api/whatsapp/messages?before=0", None, 422),
    ("GET", "/api/whatsapp/messages?direction=sideways", None, 422),
    ("GET", "/api/whatsapp/messages/3EB0UNKNOWN", None, 404),
    ("GET", "/api/whatsapp/media/3EB0UNKNOWN", None, 404),
    ("GET", WEBHOOK, None, 200),
    ("PUT", WEBHOOK, {"url": "https://example.com/hook"}, 200),
    ("PUT", WEBHOOK, {"url": None, "events": ["status"]}, 200),
    ("PUT", WEBHOOK, {"url": "ftp://example.com/hook"}, 422),
    ("PUT", WEBHOOK, {"events": ["message"]}, 422),
    ("PUT", WEBHOOK, {"url": None, "events": ["nope"]}, 422),
    ("GET", "/api/simulator/outbox", None, 200),
    ("POST", SEND, {"phone_number": "+201234567890", "text": "x"}, 502),
    ("POST", SEND, {"phone_number": "+201234567890"}, 422),
    ("POST", "/api/whatsapp/instance/pair-code", {"phone_number": "+201234567890"}, 502),
    ("POST", "/api/whatsapp/instance/pair-code", {}, 422),
    ("POST", "/api/whatsapp/instance/logout", None, 502),
    ("POST", "/api/simulator/scan", {"phone_number": "+201234567890"}, 502),
    ("POST", "/api/simulator/scan", {"phone_number": "+201234567890", "push_name": 5}, 422),
    ("POST", "/api/simulator/incoming", {"from": "+201234567890", "text": "hi"}, 502),
    ("POST", "/api/simulator/incoming", {"from": "+201234567890"}, 422),
    ("POST", "/api/simulator/incoming", {"from": "+201234567890", "text": "x", "media": "%%"}, 422),
    ("POST", "/api/simulator/incoming", {"from": "+201234567890", "text": "x", "is_group": 1}, 422),
    ("POST", "/api/simulator/receipt", {"message_id": "3EB0UNKNOWN", "status": "read"}, 502),
    ("POST", "/api/simulator/receipt", {"message_id": "3EB0UNKNOWN", "status": "seen"}, 422),
    ("POST", "/api/simulator/disconnect", None, 502),
    ("POST", "/api/simulator/reconnect", None, 502),
    ("POST", "/api/simulator/fail-next", {}, 502),
    ("POST", "/api/simulator/delay-next", {"seconds": 1}, 502),
    ("POST", "/api/simulator/delay-next", {"seconds": 0}, 422),
    ("POST", "/api/simulator/delay-next", {"seconds": "1"}, 422),
]


@pytest.mark.parametrize("method,path,body,status", NO_RUNNER)
def test_without_a_runner_answers_match_the_document(client, doc, make_instance, method, path, body, status):
    instance, token = make_instance()
    response = client.open(path, method=method, json=body, headers=auth_headers(instance["id"], token))
    assert response.status_code == status, response.get_data(as_text=True)
    assert_documented(doc, method, path, response)


@pytest.mark.parametrize("method,path", SIMULATOR, ids=[f"{m} {p}" for m, p in SIMULATOR])
def test_simulator_endpoints_are_documented_404_with_a_real_driver(
    app, client, doc, make_instance, method, path
):
    instance, token = make_instance()
    app.config["WHATSAPP_DRIVER"] = "neonize"
    response = client.open(path, method=method, json={}, headers=auth_headers(instance["id"], token))
    assert response.status_code == 404
    assert_documented(doc, method, path, response)


@pytest.mark.parametrize(
    "raw,status", [(b"{oops", 400), (b"", 400), (b"[1]", 422), (b"{}" + b" " * 2048, 413)]
)
@pytest.mark.parametrize("method,path", WITH_BODY, ids=[f"{m} {p}" for m, p in WITH_BODY])
def test_body_errors_are_documented(app, client, doc, make_instance, method, path, raw, status):
    instance, token = make_instance()
    app.config["MAX_CONTENT_LENGTH"] = 1024
    credentials = (
        key_headers(make_key(app)) if path.startswith(ACCOUNT) else auth_headers(instance["id"], token)
    )
    headers = {**credentials, "Content-Type": "application/json"}
    response = client.open(path, method=method, data=raw, headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    assert_documented(doc, method, path, response)


def test_rate_limit_is_documented_429(app, client, doc, make_instance):
    instance, token = make_instance()
    app.config["RATE_LIMIT_PER_MINUTE"] = 1
    # Three requests span at most one minute boundary, so two share a window.
    responses = [client.post(SEND, json={}, headers=auth_headers(instance["id"], token)) for _ in range(3)]
    limited = [response for response in responses if response.status_code == 429]
    assert limited
    for response in responses:
        assert_documented(doc, "POST", SEND, response)


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("DELETE", "/api/whatsapp/instance", 405),
        ("PUT", SEND, 405),
        ("POST", "/api/openapi.json", 405),
        ("DELETE", WEBHOOK, 405),
        ("GET", "/api/nowhere", 404),
    ],
)
def test_unrouted_requests_answer_the_error_schema(client, doc, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert_valid(doc, "#/components/schemas/Error", response.get_json(), f"{method} {path}")
    if status == 405:
        assert response.headers["Allow"]


def test_linked_instance_answers_match_the_document(client, doc, connected_instance):
    _, _, headers = connected_instance

    def call(method: str, path: str, status: int, body: Any = None, extra: dict | None = None) -> Any:
        response = client.open(path, method=method, json=body, headers={**headers, **(extra or {})})
        assert response.status_code == status, f"{method} {path}: {response.get_data(as_text=True)[:500]}"
        assert_documented(doc, method, path, response)
        return response.get_json() if response.mimetype == "application/json" else response

    text = {"phone_number": "+20 123-456-7890", "text": "Hi"}
    image = base64.b64encode(png_bytes()).decode()
    assert call("GET", "/api/whatsapp/instance", 200)["status"] == "connected"
    call("GET", QR, 409)
    call("POST", "/api/whatsapp/instance/pair-code", 409, {"phone_number": "+201234567890"})
    call("POST", "/api/whatsapp/instance/pair-code", 422, {"phone_number": "12"})
    sent = call("POST", SEND, 200, text)["id"]
    assert call("POST", SEND, 200, {**text, "captoin": "typo"})["ignored_fields"] == ["captoin"]
    call("POST", SEND, 202, {**text, "async": True})
    call(
        "POST", SEND, 200, {"phone_number": "+201234567890", "type": "image", "media": image, "caption": "c"}
    )
    document = {"type": "document", "media": image, "mime_type": "application/pdf", "file_name": "a.pdf"}
    call("POST", SEND, 200, {"phone_number": "+201234567890", **document})
    call("POST", SEND, 422, {**text, "caption": "not for text"})
    once = call("POST", SEND, 200, text, {"Idempotency-Key": "order-1"})
    assert call("POST", SEND, 200, text, {"Idempotency-Key": "order-1"}) == once
    call("POST", SEND, 422, {**text, "text": "other"}, {"Idempotency-Key": "order-1"})
    call("POST", SEND, 422, text, {"Idempotency-Key": "x" * 256})
    call(
        "POST", "/api/simulator/incoming", 200, {"from": "+201234567891", "push_name": "Ann", "text": "Hello"}
    )
    incoming = {
        "from": "+201234567891",
        "type": "image",
        "media": image,
        "mime_type": "image/png",
        "is_group": True,
    }
    call("POST", "/api/simulator/incoming", 200, {**incoming, "caption": "pic", "file_name": "p.png"})
    call("POST", "/api/simulator/receipt", 200, {"message_id": sent, "status": "read"})
    call("POST", "/api/simulator/scan", 409, {"phone_number": "+201000000001"})
    # One queue per instance: the async send went out before the image.
    assert len(call("GET", "/api/simulator/outbox", 200)["messages"]) == 6
    assert call("PUT", WEBHOOK, 200, {"url": "https://example.com/hook", "events": ["message"]})[
        "events"
    ] == ["message"]
    call("GET", WEBHOOK, 200)
    call("PUT", WEBHOOK, 200, {"url": None, "events": ["message", "status", "session"]})

    def incoming_media() -> str | None:
        page = call("GET", "/api/whatsapp/messages?direction=in", 200)["messages"]
        return next((message["media_url"] for message in page if "media_url" in message), None)

    media_url = wait_for(incoming_media, what="the incoming image to be stored")
    assert call("GET", media_url, 200).data == png_bytes()
    call("GET", f"/api/whatsapp/media/{sent}", 404)
    history = call("GET", f"/api/whatsapp/messages/{sent}", 200)["message"]["history"]
    assert [step["status"] for step in history][:2] == ["queued", "sent"]
    incoming_id = media_url.rsplit("/", 1)[1]
    assert call("GET", f"/api/whatsapp/messages/{incoming_id}", 200)["message"]["direction"] == "in"
    call("GET", "/api/whatsapp/messages/3EB0UNKNOWN", 404)
    page = call("GET", "/api/whatsapp/messages?limit=2", 200)
    call("GET", f"/api/whatsapp/messages?limit=100&before={page['next_before']}&direction=out", 200)
    call("GET", "/api/whatsapp/messages?limit=x", 422)
    call("POST", "/api/simulator/fail-next", 200, {"message": "recipient is not on WhatsApp"})
    failed = call("POST", SEND, 502, text)
    assert failed["status"] == "failed" and failed["id"]
    call("POST", "/api/simulator/disconnect", 200)
    call("POST", "/api/simulator/disconnect", 409)
    call("POST", "/api/simulator/receipt", 409, {"message_id": sent, "status": "delivered"})
    call("POST", "/api/simulator/incoming", 409, {"from": "+201234567891", "text": "Hello"})
    assert "id" not in call("POST", SEND, 502, text)
    call("POST", "/api/simulator/reconnect", 200)
    call("POST", "/api/whatsapp/instance/logout", 200)
    # The QR rotates every second, so check the very answer that had one.
    qr = wait_for(
        lambda: (answer := client.get(QR, headers=headers)).status_code == 200 and answer,
        what="a QR code after logout",
    )
    assert_documented(doc, "GET", QR, qr)
    call("POST", "/api/whatsapp/instance/pair-code", 200, {"phone_number": "+201234567890"})
    call("GET", "/api/whatsapp/instance", 200)


HOSTILE = [
    ("GET", "/api/whatsapp/messages?limit=99999999999999999999999", None),
    ("GET", "/api/whatsapp/messages/%ED%A0%80", None),
    ("POST", SEND, '{"phone_number": NaN, "text": "x"}'),
    ("POST", "/api/whatsapp/instance/pair-code", '{"phone_number": "\\ud800"}'),
    ("PUT", WEBHOOK, '{"url": "https://example.com:99999/"}'),
]
# Each of these was a 500 once (found by schemathesis and by hand).
FORMER_500S = [
    ("GET", "/api/whatsapp/messages?before=9223372036854775808", None),
    ("POST", SEND, "[" * 5000 + "]" * 5000),
    ("PUT", WEBHOOK, '{"url": ' * 5000 + "null" + "}" * 5000),
    ("PUT", WEBHOOK, '{"url": "https://[::1"}'),
    ("PUT", WEBHOOK, '{"url": "https://example.com/\\ud800"}'),
    ("POST", "/api/simulator/receipt", '{"message_id": "\\ud800", "status": "read"}'),
    ("POST", SEND, '{"phone_number": "+201234567890", "text": "\\ud83d"}'),
]


@pytest.mark.parametrize("method,path,raw", [*HOSTILE, *FORMER_500S])
def test_hostile_input_gets_a_documented_4xx_or_502(client, doc, make_instance, method, path, raw):
    instance, token = make_instance()
    headers = {**auth_headers(instance["id"], token), "Content-Type": "application/json"}
    response = client.open(path, method=method, data=raw, headers=headers)
    assert response.status_code < 500 or response.status_code == 502, response.get_data(as_text=True)
    assert_documented(doc, method, path, response)


def no_unexpected_server_error(ctx, response, case) -> None:
    """5xx other than 502 (the WhatsApp session's own trouble) is a bug."""
    assert response.status_code < 500 or response.status_code == 502, (
        f"{response.status_code}: {response.text[:500]}"
    )


# The last two hold the document and the validation to the same requests: whatever the schemas
# allow must be accepted (no 4xx but 409/429), whatever they forbid must be refused (a 4xx).
FUZZ_CHECKS = [
    no_unexpected_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    positive_data_acceptance,
    negative_data_rejection,
]
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, str]:
    """A real file of each media type, as base64."""
    made = make_samples(tmp_path_factory.mktemp("media"))
    return {kind: base64.b64encode(data).decode() for kind, data in made.items()}


def real_media_and_fresh_keys(samples: dict[str, str], logged: dict[str, str]):
    """What makes a valid-looking send acceptable beyond its schema, applied to positive cases."""
    keys = iter(range(10**9))

    def prepare(case) -> None:
        if case.meta.generation.mode != POSITIVE or case.operation.path != SEND:
            return
        # The bytes must really be an image (audio, …): media.py checks them, no schema can.
        if isinstance(case.body, dict) and case.body.get("type") in MEDIA_TYPES:
            case.body["media"] = samples[case.body["type"]]
        # A reply or a reaction refers to a message the log holds (a reaction, in its own chat).
        if isinstance(case.body, dict) and case.body.get("reply_to") is not None:
            case.body["reply_to"] = logged["id"]
        if isinstance(case.body, dict) and case.body.get("type") == "reaction":
            case.body.pop("group_id", None)
            case.body.update(phone_number=logged["from"], message_id=logged["id"])
        # A key already used with another body is refused (422) by design: one key per case.
        if case.headers and "Idempotency-Key" in case.headers:
            case.headers["Idempotency-Key"] = f"fuzz-{next(keys)}"

    return prepare


def fuzz(operation, mode, headers: dict[str, str], prepare) -> tuple[Counter, str | None]:
    """Run one operation's generated cases; return the statuses seen and the failure report, if any."""
    statuses: Counter = Counter()

    @settings(
        max_examples=20,
        deadline=None,
        derandomize=True,  # the same cases every run: no flaky CI
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    def run(case) -> None:
        prepare(case)
        response = case.call(headers=headers)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=FUZZ_CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report every operation, not just the first
        return statuses, f"{operation.label} ({mode}):\n{exc}"
    return statuses, None


def takes_input(operation) -> bool:
    """Whether the operation has a body or query parameters that invalid data can go into."""
    documented = STATIC_DOC["paths"][operation.path][operation.method.lower()]
    return "requestBody" in documented or any(
        p.get("in") == "query" for p in documented.get("parameters", [])
    )


@pytest.mark.slow
def test_schemathesis_finds_no_server_errors_or_schema_violations(app, client, connected_instance, samples):
    _, _, headers = connected_instance
    account = {**headers, **key_headers(make_key(app))}
    # Whether a webhook host may be private is the server's configuration, not the request's shape.
    app.config["ALLOW_PRIVATE_URLS"] = True
    # Valid numbers in several notations, so sends get past validation and really go out.
    schemathesis.openapi.format(PHONE_FORMAT, st.sampled_from(VALID_PHONES))
    schemathesis.openapi.format(URL_FORMAT, st.sampled_from(VALID_WEBHOOK_URLS))
    # send_at must also be in the future and within the horizon, which no schema can say.
    soon = [datetime.now(UTC) + timedelta(hours=hours) for hours in (1, 30, 24 * 7)]
    schemathesis.openapi.format(
        SEND_AT_FORMAT,
        st.sampled_from(
            [soon[0].isoformat(), soon[1].strftime("%Y-%m-%dT%H:%M:%SZ"), soon[2].astimezone().isoformat()]
        ),
    )
    incoming = {"from": VALID_PHONES[0], "text": "Hi"}
    logged = client.post("/api/simulator/incoming", headers=headers, json=incoming).get_json()
    path = f"/api/whatsapp/messages/{logged['id']}"
    wait_for(lambda: client.get(path, headers=headers).status_code == 200, 20, what="a message in the log")
    prepare = real_media_and_fresh_keys(samples, {"id": logged["id"], "from": VALID_PHONES[0]})
    try:
        schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app).exclude(operation_id=NOT_FUZZED)
        operations = [result.ok() for result in schema.get_all_operations()]
        results = {
            (operation.label, mode): fuzz(
                operation, mode, account if operation.path.startswith(ACCOUNT) else headers, prepare
            )
            for operation in operations
            for mode in ([POSITIVE, NEGATIVE] if takes_input(operation) else [POSITIVE])
        }
    finally:
        unregister_string_format(PHONE_FORMAT)
        unregister_string_format(URL_FORMAT)
        unregister_string_format(SEND_AT_FORMAT)
    failures = [report for _, report in results.values() if report]
    assert not failures, "\n\n".join(failures)
    statuses = {key: dict(seen) for key, (seen, _) in results.items()}
    # The run must reach success, not only validation errors.
    for label in ("POST /api/whatsapp/messages/send", "POST /api/simulator/incoming", f"PUT {WEBHOOK}"):
        assert statuses[label, POSITIVE].get(200), statuses
        assert statuses[label, NEGATIVE].get(422), statuses
    # Schemathesis leaves out the endpoint it loaded the document from.
    fuzzed = {
        f"{method} {path}"
        for method, path in OPERATIONS
        if STATIC_DOC["paths"][path][method.lower()]["operationId"] not in NOT_FUZZED
        and path != "/api/openapi.json"
    }
    assert sorted(fuzzed - {label for label, _ in statuses}) == []
