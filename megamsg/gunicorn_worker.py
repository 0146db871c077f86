"""gunicorn's threaded worker, answering the requests it rejects itself in the API's JSON error shape."""

# gunicorn refuses some requests before Flask sees them (a NUL or CR in a header, an over-long
# request line, a bad Content-Length...) and answers those with an HTML page. API clients parse
# JSON errors, so the same status goes out as {"ok": false, "message": ...}. gunicorn still decides
# the status and writes its log lines; only the body changes. The message is fixed per status and
# never echoes what the client sent (a malformed header may carry a token).

import json
import socket
from typing import Any

from gunicorn.util import write_nonblock
from gunicorn.workers.gthread import ThreadWorker

MESSAGES = {
    400: "Malformed HTTP request: the request line or a header is invalid.",
    403: "Request forbidden.",
    414: "The request line (method and URL) is too long.",
    417: "Expectation failed: the Expect header is not supported.",
    431: "The request's header fields are too large.",
    500: "Internal server error.",
    501: "Unsupported Transfer-Encoding.",
}


class _Captured:
    """Stands in for the client socket while gunicorn writes its HTML answer, to learn its status line."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0  # gunicorn then writes at once, without switching blocking modes

    def sendall(self, data: bytes) -> None:
        self.data += data

    def status(self) -> tuple[int, str]:
        """The status code and reason gunicorn chose (500 if it wrote nothing readable)."""
        line = self.data.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1].isdigit():
            return int(parts[1]), parts[2]
        return 500, "Internal Server Error"


def json_error(status: int, reason: str) -> bytes:
    """A complete HTTP response in the API's error shape, closing the connection."""
    body = json.dumps({"ok": False, "message": MESSAGES.get(status, reason)}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class JsonErrorWorker(ThreadWorker):
    """gthread, with its own error answers in JSON."""

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        """Let gunicorn classify and log the error, then answer its status as JSON."""
        captured = _Captured()
        super().handle_error(req, captured, addr, exc)
        try:
            write_nonblock(client, json_error(*captured.status()))
        except Exception:  # noqa: BLE001 - as gunicorn does: the client may be gone
            self.log.debug("Failed to send error message.")
