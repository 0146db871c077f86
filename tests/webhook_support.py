"""Webhook test support: a scripted receiver, queue worker processes, signature checks."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from standardwebhooks import Webhook

from tests.processes import REPO, ProcessGroup, child_env


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers from a script."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.connections = 0
        self.script: list[tuple[int, dict, float]] = []
        self.default: tuple[int, dict, float] = (200, {}, 0.0)
        self.lock = threading.Lock()
        self.closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers.items()),
                            "body": body,
                            "at": time.monotonic(),
                        }
                    )
                    status, headers, delay = receiver.script.pop(0) if receiver.script else receiver.default
                if delay:
                    receiver.closing.wait(delay)
                answer = json.dumps({"answered": status}).encode()
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address) -> bool:
                with receiver.lock:
                    receiver.connections += 1
                return True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, *responses: int | tuple[int, dict, float], default: int | None = None) -> None:
        """Script the next answers: status codes, or (status, headers, delay seconds)."""
        with self.lock:
            self.script = [r if isinstance(r, tuple) else (r, {}, 0.0) for r in responses]
            if default is not None:
                self.default = (default, {}, 0.0)

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def stop(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


class Workers(ProcessGroup):
    """`python -m megamsg.runtime.queue_worker` processes on the test app's configuration, always stopped."""

    grace_seconds = 10.0

    def __init__(self, config: dict, log_dir: str) -> None:
        super().__init__(config)
        self.log_dir = log_dir

    def start(self, **env: str) -> subprocess.Popen:
        extra = {"MEGAMSG_DOTENV": os.devnull, **{f"MEGAMSG_{key}": value for key, value in env.items()}}
        log = open(os.path.join(self.log_dir, f"worker-{len(self.processes)}.log"), "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "megamsg.runtime.queue_worker"],
            cwd=REPO,
            env=child_env(self.config, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def log_text(self) -> str:
        """Everything the workers logged so far."""
        return "".join(
            Path(self.log_dir, f"worker-{n}.log").read_text(errors="replace")
            for n in range(len(self.processes))
        )


WEBHOOK_TEST_CONFIG = {
    "ALLOW_PRIVATE_URLS": True,  # the receiver is on loopback
    "WEBHOOK_RETRY_INTERVALS": "1,1",
    "WEBHOOK_TIMEOUT": 1.0,
}


def verify_signature(secret: str, request: dict) -> dict:
    """Check a recorded request's signature by hand and with the standardwebhooks package."""
    headers = {name.lower(): value for name, value in request["headers"].items()}
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request["body"]
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == expected
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    return Webhook(secret).verify(request["body"], headers)
