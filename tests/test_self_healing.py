"""Issue 11 items 3 and 4 (and 16's reconnect): `make run`'s launcher brings back what dies.

One launcher (simulator driver, embedded Redis) for the module; each drill kills one piece with
SIGKILL, as the OOM killer would, and the stack must answer in the error shape meanwhile (never a
500) and be whole again, sends included, within 30 s.
"""

import os
import signal
import sys
import time

import psutil
import pytest
import requests

from megamsg.store import accounts, instances
from megamsg.store.db import connect
from tests.conftest import auth_headers, wait_for
from tests.test_data_dir_lock import Launchers
from tests.test_faults import free_port, redis_servers_on

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="the drills read /proc through psutil"),
]

WHOLE_AGAIN = 30.0


class Stack:
    """The running launcher, its port and an instance linked to a simulated phone."""

    def __init__(self, launchers: Launchers, port: int) -> None:
        self.launchers, self.port = launchers, port
        self.process = launchers.start(port, "stack")
        self.base = f"http://127.0.0.1:{port}"
        self.headers: dict[str, str] = {}
        self.sent = 0

    def children(self) -> dict[str, psutil.Process]:
        """The launcher's direct children by role: web (gunicorn master) and worker (supervisor)."""
        found = {}
        for child in psutil.Process(self.process.pid).children():
            try:
                line = " ".join(child.cmdline())
            except psutil.Error:
                continue  # exited meanwhile, or a zombie the launcher has not reaped yet
            if "gunicorn" in line:
                found["web"] = child
            elif "worker.py" in line:
                found["worker"] = child
        return found

    def get(self, path: str) -> requests.Response:
        return requests.get(self.base + path, headers=self.headers, timeout=10)

    def send(self) -> requests.Response:
        self.sent += 1
        body = {"phone_number": "+201234567890", "text": f"drill {self.sent}"}
        return requests.post(
            self.base + "/api/whatsapp/messages/send", headers=self.headers, json=body, timeout=40
        )

    def sends_again(self) -> bool:
        """True once a send goes through; any other answer must be in the error shape, never a 500."""
        try:
            answer = self.send()
        except requests.RequestException:
            return False  # web restarting: nothing listens for a moment
        assert answer.status_code != 500, answer.text
        assert answer.headers["Content-Type"].startswith("application/json"), answer.text
        if answer.status_code != 200:
            assert answer.json()["ok"] is False and answer.json()["message"], answer.text
        return answer.status_code == 200


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    launchers = Launchers(tmp_path_factory.mktemp("healing"))
    running = Stack(launchers, free_port())
    try:
        wait_for(
            lambda: launchers.serving(running.port, running.process, "stack"), 90, interval=0.25, what="stack"
        )
        database = connect(os.path.join(launchers.data_dir, "megamsg.db"))
        try:
            user = accounts.create_user(database, "ops@example.com", "a long enough password")
            row, token = instances.create_instance(database, user["id"], "Drill")
        finally:
            database.conn.close()
        running.headers = auth_headers(row["id"], token)
        wait_for(
            lambda: running.get("/api/whatsapp/instance").json().get("status") == "qr", 60, what="a QR code"
        )
        scanned = requests.post(
            running.base + "/api/simulator/scan",
            headers=running.headers,
            json={"phone_number": "+201000000001"},
            timeout=30,
        )
        assert scanned.status_code == 200, scanned.text
        wait_for(running.sends_again, 30, interval=0.5, what="a first send")
        yield running
    finally:
        launchers.stop_all()


def recovered_in(stack: Stack, killed_at: float) -> float:
    wait_for(stack.sends_again, WHOLE_AGAIN, interval=0.5, what="sends to work again")
    took = time.monotonic() - killed_at
    print(f"whole again {took:.1f} s after the kill")
    return took


def test_a_killed_embedded_redis_is_started_again_and_the_stack_reconnects(stack):
    [server] = redis_servers_on(stack.launchers.data_dir)
    server.kill()
    killed_at = time.monotonic()
    server.wait(10)
    # While it is away, the API answers in the error shape (503 with Retry-After), never a 500.
    answer = stack.get("/api/whatsapp/instance")
    assert answer.status_code in (200, 503), answer.text
    if answer.status_code == 503:
        assert (
            answer.json() == {"ok": False, "message": answer.json()["message"]}
            and answer.headers["Retry-After"]
        )
    recovered_in(stack, killed_at)
    [again] = redis_servers_on(stack.launchers.data_dir)
    assert again.pid != server.pid
    assert "embedded Redis is not answering; starting it again" in stack.launchers.log("stack")
    # The data survived: the instance's credentials and its linked session.
    assert stack.get("/api/whatsapp/instance").json()["status"] == "connected"


def test_a_killed_supervisor_is_restarted_and_the_web_keeps_serving(stack):
    worker = stack.children()["worker"]
    web = stack.children()["web"]
    worker.kill()
    killed_at = time.monotonic()
    assert requests.get(stack.base + "/healthz", timeout=5).status_code == 200  # the web did not go down
    wait_for(
        lambda: stack.children().get("worker", worker).pid != worker.pid, WHOLE_AGAIN, what="a new worker"
    )
    recovered_in(stack, killed_at)
    assert stack.children()["web"].pid == web.pid
    assert "worker exited with code -9; restarting in 1 s" in stack.launchers.log("stack")


def test_a_killed_web_server_is_restarted(stack):
    web = stack.children()["web"]
    os.killpg(web.pid, signal.SIGKILL)  # the master and its workers
    killed_at = time.monotonic()
    wait_for(lambda: stack.children().get("web", web).pid != web.pid, WHOLE_AGAIN, what="a new web server")
    recovered_in(stack, killed_at)
