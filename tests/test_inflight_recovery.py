"""Issue 11 item 2: work running at a crash resumes or ends within seconds of the restart."""

import os
import signal
import time

import pytest
import redis
from rq import Queue, Retry

from megamsg import keys
from megamsg.queues import MegamsgJob
from megamsg.runtime.abandoned_jobs import UNKNOWN_OUTCOME
from megamsg.session_state import read_state
from tests.conftest import outbox, wait_for


def test_an_events_job_cut_short_by_kill_9_is_retried_at_once_by_the_next_worker(
    app, queue_workers, redis_url
):
    connection = redis.Redis.from_url(redis_url)
    first = queue_workers.start()
    job = Queue(keys.EVENTS_QUEUE, connection=connection, job_class=MegamsgJob).enqueue(
        "tests.drill_jobs.hold_first_attempt", retry=Retry(max=1, interval=1), result_ttl=60
    )
    wait_for(lambda: job.get_meta(refresh=True).get("held_by"), 20, what="the job to start")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)

    restarted = time.monotonic()
    queue_workers.start()
    wait_for(lambda: job.get_status(refresh=True) == "finished", 20, what="the retried job to finish")
    print(f"in-flight events job finished {time.monotonic() - restarted:.1f} s after the restart")
    assert job.return_value().startswith("resumed after ")
    assert "Handed 1 job(s) of a crashed worker on events back to RQ" in queue_workers.log_text()


def message_status(client, headers, message_id: str) -> dict:
    return client.get(f"/api/whatsapp/messages/{message_id}", headers=headers).get_json()["message"]


@pytest.mark.slow
def test_a_send_cut_short_by_a_runner_crash_ends_failed_at_once_and_the_queue_behind_it_goes_on(
    app, client, connected_instance
):
    instance, _, headers = connected_instance  # its supervisor runs the events worker too
    assert client.post("/api/simulator/delay-next", headers=headers, json={"seconds": 60}).status_code == 200
    sends = [
        client.post(
            "/api/whatsapp/messages/send",
            headers=headers,
            json={"phone_number": "+201234567890", "text": text, "async": True},
        ).get_json()
        for text in ("cut short", "behind it")
    ]
    cut, behind = (answer["id"] for answer in sends)
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    wait_for(lambda: connection.get(keys.send_claim(cut)) == b"started", 20, what="the first send to begin")
    runner_pid = int(read_state(app.config, instance["id"])["pid"])
    os.kill(runner_pid, signal.SIGKILL)

    killed = time.monotonic()
    ended = wait_for(
        lambda: (answer := message_status(client, headers, cut))["status"] == "failed" and answer,
        30,
        what="the cut-short send to end",
    )
    print(f"cut-short send ended {time.monotonic() - killed:.1f} s after the kill")
    assert ended["error"] == UNKNOWN_OUTCOME
    wait_for(lambda: message_status(client, headers, behind)["status"] == "sent", 30, what="the next send")
    assert [entry["text"] for entry in outbox(client, headers)] == ["behind it"]
    assert int(read_state(app.config, instance["id"])["pid"]) != runner_pid
