"""Drill: a scheduled message survives kill -9 of the whole stack (embedded Redis included) and is sent once."""

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import psutil
import pytest
import requests

from megamsg.store import accounts, instances
from megamsg.store.db import connect
from tests.conftest import PASSWORD, auth_headers, wait_for
from tests.processes import REPO
from tests.test_faults import Holders, _alive, free_port, healthy, kill_descendants, redis_servers_on

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the drill uses a Linux child subreaper")


@pytest.fixture
def holders():
    group = Holders()
    yield group
    group.stop_all()


@pytest.mark.slow
def test_a_scheduled_message_survives_a_restart_of_every_process_and_is_sent_once(holders, tmp_path):
    data_dir = str(tmp_path / "data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("MEGAMSG_")}
    env.pop("REDIS_URL", None)
    env.update(
        PORT=str(port),
        MEGAMSG_DATA_DIR=data_dir,
        MEGAMSG_WHATSAPP_DRIVER="simulator",
        MEGAMSG_SIMULATOR_QR_SECONDS="2",
        MEGAMSG_LEASE_SECONDS="3",
    )
    launch = [sys.executable, "-m", "megamsg.runtime.launch"]
    first_log = str(tmp_path / "first.log")
    holder = holders.start(launch, env=env, log_path=first_log)
    wait_for(lambda: healthy(port, holder, first_log), 90, interval=0.25, what="the first stack to serve")

    db = connect(os.path.join(data_dir, "megamsg.db"))
    try:
        owner = accounts.create_user(db, "owner@example.com", PASSWORD)
        instance, token = instances.create_instance(db, owner["id"], "Drill")
    finally:
        db.conn.close()
    headers = auth_headers(instance["id"], token)

    def api(method, path, **kwargs):
        return requests.request(method, base + path, headers=headers, timeout=10, **kwargs)

    wait_for(lambda: api("GET", "/api/whatsapp/instance").json()["status"] == "qr", 60, what="a QR code")
    assert api("POST", "/api/simulator/scan", json={"phone_number": "+201000000001"}).status_code == 200
    send_at = datetime.now(UTC) + timedelta(seconds=10)
    answer = api(
        "POST",
        "/api/whatsapp/messages/send",
        json={"phone_number": "+201234567890", "text": "after the restart", "send_at": send_at.isoformat()},
    )
    assert answer.status_code == 202, answer.text
    message_id = answer.json()["id"]

    kill_descendants(holder.pid)  # launcher, web, supervisor, runner, workers and redis-server: SIGKILL

    second_log = str(tmp_path / "second.log")
    with open(second_log, "wb") as log:
        second = subprocess.Popen(
            launch, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    stack: list[psutil.Process] = []
    try:
        wait_for(lambda: healthy(port, second, second_log), 90, interval=0.25, what="the restarted stack")
        stack = psutil.Process(second.pid).children(recursive=True)

        def sent() -> list:
            return [
                entry
                for entry in api("GET", "/api/simulator/outbox").json()["messages"]
                if entry["id"] == message_id
            ]

        wait_for(sent, 60, interval=0.25, what="the scheduled message to go out")
        wait_for(
            lambda: api("GET", f"/api/whatsapp/messages/{message_id}").json()["message"]["status"] == "sent",
            30,
        )
        assert sent()[0]["sent_at"] >= send_at.timestamp()
        # Several supervisor ticks later, still once.
        wait_for(
            lambda: (
                len(api("GET", "/api/whatsapp/instance").json())
                and api("GET", "/api/whatsapp/instance").json()["queue_depth"] == 0
            ),
            10,
        )
        assert len(sent()) == 1
        os.killpg(second.pid, signal.SIGINT)
        second.wait(timeout=60)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
            second.wait()
        for process in stack + redis_servers_on(data_dir):
            if _alive(process):
                process.kill()
