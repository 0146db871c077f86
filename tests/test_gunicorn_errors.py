"""Requests gunicorn rejects before Flask (issue 11 item 9) still get the JSON error shape, over raw sockets."""

import json
import socket
import subprocess
import sys

import pytest
import requests

from megamsg.web import create_app
from tests.conftest import FAST_RUNTIME, flush_our_keys, wait_for
from tests.processes import REPO, ProcessGroup, child_env
from tests.test_faults import free_port

TOKEN = "s3cret-t0ken-value"
LONG = "a" * 5000  # gunicorn's request line limit is 4094 bytes


@pytest.fixture(scope="module")
def server(tmp_path_factory, redis_url):
    """`gunicorn app:app` with the project's gunicorn.conf.py (as `make run` and the Procfile start it)."""
    flush_our_keys(redis_url)
    data_dir = tmp_path_factory.mktemp("gunicorn") / "data"
    data_dir.mkdir()
    config = dict(
        create_app(
            {
                "DATA_DIR": str(data_dir),
                "REDIS_URL": redis_url,
                "WHATSAPP_DRIVER": "simulator",
                "SECRET_KEY": "test-secret-key",
                **FAST_RUNTIME,
            }
        ).config
    )
    port = free_port()
    group = ProcessGroup(config)
    env = child_env(config, MEGAMSG_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    group.processes.append(
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "app:app"],
            cwd=REPO,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )

    def up() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(up, 60, interval=0.2, what="gunicorn answering")
    yield port
    group.stop_all()


def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer until the server closes; return (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split(" ")[1]), headers, body


def get(target: str, *headers: str) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


REJECTED = [
    # (what, raw request, status)
    ("a NUL in a header value", get("/api/whatsapp/instance", "X-Test: a\x00b"), 400),
    ("a NUL in the token", get("/api/whatsapp/instance", f"Authorization: Bearer {TOKEN}\x00"), 400),
    ("a bare CR in a header value", get("/api/whatsapp/instance", "X-Test: a\rb"), 400),
    ("a header line without a colon", get("/api/whatsapp/instance", f"Authorization Bearer {TOKEN}"), 400),
    ("an over-long request line", get(f"/api/whatsapp/messages?token={TOKEN}&x={LONG}"), 414),
    ("an over-long header", get("/api/whatsapp/instance", f"X-Big: {'b' * 9000}"), 431),
    ("a bad Content-Length", get("/api/whatsapp/messages/send", "Content-Length: ten"), 400),
    (
        "two Content-Lengths",
        get("/api/whatsapp/messages/send", "Content-Length: 1", "Content-Length: 2"),
        400,
    ),
    ("an unknown transfer coding", get("/api/whatsapp/messages/send", "Transfer-Encoding: zip"), 501),
    ("a bad HTTP version", b"GET /api/whatsapp/instance HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    ("a bad method", b"G(T /api/whatsapp/instance HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("a dashboard page with a NUL in a header", get("/login", "X-Test: a\x00b"), 400),
]


@pytest.mark.parametrize(("what", "raw", "status"), REJECTED, ids=[row[0] for row in REJECTED])
def test_a_request_gunicorn_rejects_gets_the_json_error_shape(server, what, raw, status):
    got, headers, body = exchange(server, raw)
    assert got == status, body
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    answer = json.loads(body)
    assert answer == {"ok": False, "message": answer["message"]} and answer["message"]
    assert TOKEN.encode() not in body  # what the client sent is never echoed


def test_a_well_formed_request_still_reaches_flask(server):
    status, headers, body = exchange(server, get("/api/whatsapp/instance", "Connection: close"))
    assert status == 401 and headers["content-type"] == "application/json"
    assert json.loads(body)["ok"] is False
