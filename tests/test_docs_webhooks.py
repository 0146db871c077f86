"""The webhook section of /docs against real deliveries: payload schemas and signature snippets."""

import json
import os
import subprocess
import sys

import pytest

from megamsg.web.docs.webhook_events import SCHEMAS
from tests.conftest import wait_for
from tests.docs_support import ILLUMINATE, example, require_tool, schema_errors
from tests.webhook_support import verify_signature

SEND = "/api/whatsapp/messages/send"


@pytest.fixture
def allow_private(app):
    """The loopback receiver is a private address: allow it before any worker starts."""
    app.config["ALLOW_PRIVATE_URLS"] = True


@pytest.fixture
def deliveries(allow_private, app, db, client, connected_instance, scripted_receiver):
    """One real signed delivery of every event type: ({kind: recorded request}, secret)."""
    from megamsg.delivery.webhooks import send_test_event

    instance, _, headers = connected_instance
    answer = client.put(
        "/api/whatsapp/instance/webhook", headers=headers, json={"url": scripted_receiver.url}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    secret = answer.get_json()["secret"]
    client.post(SEND, headers=headers, json={"phone_number": "+201234567890", "text": "status, please"})
    client.post("/api/simulator/incoming", headers=headers, json={"from": "+201234567891", "text": "Hello!"})
    client.post("/api/simulator/disconnect", headers=headers)
    send_test_event(db, app.config, db["instances"].get(instance["id"]))

    def by_kind() -> dict[str, dict]:
        with scripted_receiver.lock:
            received = list(scripted_receiver.requests)
        found = {}
        for request in received:
            found.setdefault(json.loads(request["body"])["type"], request)
        return found if set(found) >= set(SCHEMAS) else {}

    return wait_for(by_kind, 30, interval=0.2, what="a delivery of every event type"), secret


def extra_keys(payload: dict, schema: dict, path: str = "") -> list[str]:
    """Keys a payload has that the schema does not describe (schemas allow extras; the docs must not)."""
    found = []
    properties = schema.get("properties", {})
    for key, value in payload.items():
        if key not in properties:
            found.append(path + key)
        elif isinstance(value, dict) and "properties" in properties[key]:
            found += extra_keys(value, properties[key], f"{path}{key}.")
    return found


def test_the_documented_payloads_match_real_deliveries(deliveries, client):
    received, secret = deliveries
    html = client.get("/docs").get_data(as_text=True)
    for kind, schema in SCHEMAS.items():
        payload = json.loads(received[kind]["body"])
        assert schema_errors({}, schema, payload) == [], kind
        assert extra_keys(payload, schema) == [], kind
        sample = json.loads(example(html, f"event-{kind}", "json"))
        assert set(sample) == set(payload), kind
        inner = sample.get(kind)
        if isinstance(inner, dict):
            assert set(schema["properties"][kind]["required"]) <= set(inner), kind
        verify_signature(secret, received[kind])  # what the snippets below must agree with


def run_verify(language: str, code: str, secret: str, request: dict, body: bytes, cwd) -> str:
    """Run a page snippet on a delivery; its verdict as "true" or "false"."""
    require_tool("openssl" if language == "shell" else language)
    headers = {name.lower(): value for name, value in request["headers"].items()}
    (cwd / "body.json").write_bytes(body)
    env = {**os.environ, "SECRET": secret, "HEADERS": json.dumps(headers)}
    if language == "shell":
        script = (
            code.replace("YOUR_WEBHOOK_SECRET", secret)
            .replace("WEBHOOK_ID", headers["webhook-id"])
            .replace("WEBHOOK_TIMESTAMP", headers["webhook-timestamp"])
        )
        result = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return str(result.stdout.strip() in headers["webhook-signature"].split()).lower()
    if language == "python":
        harness = (
            "\nimport json, os\n"
            "print(verify_webhook(os.environ['SECRET'], json.loads(os.environ['HEADERS']), open('body.json', 'rb').read()))\n"
        )
        command = [sys.executable, "-c", code + harness]
    elif language == "javascript":
        harness = (
            '\nimport fs from "node:fs";\n'
            'console.log(verifyWebhook(process.env.SECRET, JSON.parse(process.env.HEADERS), fs.readFileSync("body.json")));\n'
        )
        command = ["node", "--input-type=module", "-e", code + harness]
    else:
        # A Laravel request as the framework builds it for the controller.
        harness = (
            "<?php\n"
            f"require_once '{ILLUMINATE}/Http/autoload.php';\n" + code + "\n$server = [];\n"
            "foreach (json_decode(getenv('HEADERS'), true) as $name => $value) {\n"
            "    $server['HTTP_' . strtoupper(str_replace('-', '_', $name))] = $value;\n"
            "}\n"
            "$request = Illuminate\\Http\\Request::create('/megamsg', 'POST', [], [], [], $server, file_get_contents('body.json'));\n"
            "echo verifyWebhook($request, getenv('SECRET')) ? 'true' : 'false';\n"
        )
        (cwd / "verify.php").write_text(harness)
        command = ["php", "verify.php"]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{language}: {result.stdout}\n{result.stderr}"
    return result.stdout.strip().lower()


@pytest.mark.parametrize("language", ["shell", "php", "javascript", "python"])
def test_each_signature_snippet_accepts_the_real_delivery_and_rejects_a_tampered_one(
    language, deliveries, client, tmp_path
):
    received, secret = deliveries
    html = client.get("/docs").get_data(as_text=True)
    code = example(html, "verify-example", language)
    request = received["message"]
    work = tmp_path / "verify"
    work.mkdir()
    assert run_verify(language, code, secret, request, request["body"], work) == "true"
    tampered = request["body"].replace(b"Hello!", b"Hello?")
    assert tampered != request["body"]
    assert run_verify(language, code, secret, request, tampered, work) == "false"
    other_secret = "whsec_" + "A" * 32
    assert run_verify(language, code, other_secret, request, request["body"], work) == "false"
