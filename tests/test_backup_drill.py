"""The whole-stack drill: a backup taken under load restores into a working stack on another port."""

import base64
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
import requests

from megamsg.clock import now_iso
from tests.backup_support import table_digest
from tests.conftest import wait_for
from tests.media_samples import png_bytes
from tests.processes import REPO, ProcessGroup, child_env

pytestmark = pytest.mark.slow
FLASK = os.path.join(os.path.dirname(sys.executable), "flask")
LOGS = ("messages", "message_status", "webhook_events", "webhook_deliveries")
# Columns of a message that never change once it is recorded.
FIXED = "id, instance_id, direction, peer, type, text, caption, seq, created_at"


@pytest.fixture
def private_urls(app):
    """Webhooks to the loopback receiver are allowed (set before any worker starts)."""
    app.config["ALLOW_PRIVATE_URLS"] = True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [FLASK, "--app", "app", "megamsg", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def restored_env(config: dict, data_dir: str) -> dict:
    """The test's settings on another data directory, with that directory's own embedded Redis."""
    env = child_env(config, MEGAMSG_DATA_DIR=data_dir, MEGAMSG_DATABASE=os.path.join(data_dir, "megamsg.db"))
    env.pop("MEGAMSG_REDIS_URL", None)
    env.pop("REDIS_URL", None)
    return env


class Load:
    """Sends and incoming messages (every other one with an image) in two threads until stopped."""

    def __init__(self, base: str, headers: dict) -> None:
        self.base, self.headers = base, headers
        self.stop = threading.Event()
        self.counts = {"sent": 0, "incoming": 0}
        self.threads = [threading.Thread(target=self._send), threading.Thread(target=self._incoming)]

    def _send(self) -> None:
        with requests.Session() as http:
            while not self.stop.is_set():
                n = self.counts["sent"]
                body = {"phone_number": "+201000000002", "text": f"out {n}"}
                answer = http.post(
                    f"{self.base}/api/whatsapp/messages/send", headers=self.headers, json=body, timeout=30
                )
                assert answer.status_code == 200, answer.text
                self.counts["sent"] += 1

    def _incoming(self) -> None:
        image = base64.b64encode(png_bytes()).decode()
        with requests.Session() as http:
            while not self.stop.is_set():
                n = self.counts["incoming"]
                body = {"from": "+201000000003", "text": f"in {n}", "type": "text"}
                if n % 2:
                    body = {"from": "+201000000003", "type": "image", "caption": f"in {n}", "media": image}
                answer = http.post(
                    f"{self.base}/api/simulator/incoming", headers=self.headers, json=body, timeout=30
                )
                assert answer.status_code == 200, answer.text
                self.counts["incoming"] += 1

    def __enter__(self) -> "Load":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def rows(path: str, sql: str) -> dict:
    raw = sqlite3.connect(path)
    found = {row[0]: row for row in raw.execute(sql)}
    raw.close()
    return found


def settled(path: str) -> bool:
    """No message waiting to be sent and no webhook event still being delivered."""
    raw = sqlite3.connect(path)
    busy = raw.execute(
        "SELECT (SELECT count(*) FROM messages WHERE status = 'queued')"
        " + (SELECT count(*) FROM webhook_events WHERE status IN ('pending', 'delivering'))"
    ).fetchone()[0]
    raw.close()
    return busy == 0


def test_a_backup_under_load_restores_into_a_working_stack(
    private_urls, app, client, connected_instance, live_server, scripted_receiver, tmp_path
):
    _instance, _token, headers = connected_instance
    assert (
        client.put(
            "/api/whatsapp/instance/webhook", headers=headers, json={"url": scripted_receiver.url}
        ).status_code
        == 200
    )
    config = dict(app.config)
    original = config["DATABASE"]
    archive = tmp_path / "under-load.tar.gz"

    with Load(live_server, headers) as load:
        wait_for(lambda: load.counts["sent"] >= 5 and load.counts["incoming"] >= 5, 30, what="load running")
        started = now_iso()
        cli(child_env(config), "backup", str(archive))
        before = dict(load.counts)
        wait_for(lambda: load.counts["sent"] >= before["sent"] + 5, 30, what="load going on after the backup")
    wait_for(lambda: settled(original), 30, what="the original stack settling")

    # A point-in-time copy of append-only logs: a prefix of the original's, row for row.
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    target = str(tmp_path / "restored")
    cli(restored_env(config, target), "restore", str(archive))
    copy = os.path.join(target, "megamsg.db")
    for table in LOGS:
        assert table_digest(copy, table)[0] == manifest["counts"]["tables"][table]
    for table, sql in [
        ("webhook_deliveries", "SELECT * FROM webhook_deliveries"),
        ("message_status", "SELECT id, message_id, status, error, at FROM message_status"),
        ("messages", f"SELECT {FIXED} FROM messages"),
    ]:
        restored, now = rows(copy, sql), rows(original, sql)
        assert restored and all(now[key] == row for key, row in restored.items()), f"{table} differs"
    early = rows(original, f"SELECT {FIXED} FROM messages WHERE created_at < '{started}'")
    assert set(early) <= set(rows(copy, f"SELECT {FIXED} FROM messages")), (
        "messages from before the backup missing"
    )

    # The restored stack on another port: same instance, same token, linked session, media served.
    port = free_port()
    stack = ProcessGroup(config)
    env = restored_env(config, target)
    env["PORT"] = str(port)
    stack.processes.append(
        subprocess.Popen(
            [sys.executable, "-m", "megamsg.runtime.launch"], cwd=REPO, env=env, start_new_session=True
        )
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def status() -> str | None:
            try:
                return requests.get(f"{base}/api/whatsapp/instance", headers=headers, timeout=5).json()[
                    "status"
                ]
            except requests.RequestException:
                return None

        wait_for(
            lambda: status() == "connected",
            60,
            what="the restored instance connected (its simulated phone still linked)",
        )
        listed, before_seq = [], None
        while True:
            params = {"limit": 100, **({"before": before_seq} if before_seq else {})}
            page = requests.get(
                f"{base}/api/whatsapp/messages", headers=headers, params=params, timeout=10
            ).json()
            listed += page["messages"]
            before_seq = page["next_before"]
            if before_seq is None:
                break
        assert {m["id"] for m in listed} == set(rows(copy, "SELECT id FROM messages"))
        with_media = rows(copy, "SELECT id, instance_id FROM messages WHERE media_path IS NOT NULL")
        assert with_media, "no incoming media was in the backup"
        for message_id, instance_id in with_media.values():
            served = requests.get(f"{base}/api/whatsapp/media/{message_id}", headers=headers, timeout=10)
            kept = os.path.join(config["DATA_DIR"], "media", instance_id, message_id)
            assert served.status_code == 200
            assert served.content == Path(kept).read_bytes()
        sent = requests.post(
            f"{base}/api/whatsapp/messages/send",
            headers=headers,
            json={"phone_number": "+201000000002", "text": "after the restore"},
            timeout=30,
        )
        assert sent.status_code == 200 and sent.json()["status"] == "sent", sent.text
    finally:
        stack.stop_all()

    # Once quiet, a backup is the original exactly: every log identical, row for row.
    quiet = tmp_path / "quiet.tar.gz"
    cli(child_env(config), "backup", str(quiet))
    again = str(tmp_path / "restored-quiet")
    cli(restored_env(config, again), "restore", str(quiet), "--skip-redis")
    for table in LOGS:
        assert table_digest(os.path.join(again, "megamsg.db"), table) == table_digest(original, table)
