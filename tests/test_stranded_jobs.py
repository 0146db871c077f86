"""A job a worker took but never began (killed between RQ's LMOVE and its started registry) runs within seconds.

RQ moves a job from `rq:queue:<name>` to `rq:queue:<name>:intermediate` when a worker takes it, and
into the started registry when the worker begins it. A worker killed in between leaves it in the
intermediate list, which RQ fails (then retries) only once a maintenance pass has seen it there
for a minute. The tests below leave a job exactly there, as such a kill does, with RQ's own LMOVE.
"""

import os
import signal
import time

import redis
from rq import Queue

from megamsg import keys
from megamsg.queues import MegamsgJob
from megamsg.session_state import read_state
from tests.conftest import outbox, wait_for


def strand(connection: redis.Redis, queue: Queue) -> None:
    """Take the queue's next job as a worker does, and begin nothing (the worker is 'killed')."""
    assert connection.lmove(queue.key, queue.intermediate_queue_key, "LEFT", "RIGHT")


def test_an_events_job_stranded_by_a_killed_worker_runs_when_the_next_worker_starts(
    app, queue_workers, redis_url
):
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(keys.EVENTS_QUEUE, connection=connection, job_class=MegamsgJob)
    first = queue.enqueue("builtins.len", "first", result_ttl=60)
    second = queue.enqueue("builtins.len", "second!", result_ttl=60)
    strand(connection, queue)
    strand(connection, queue)

    started = time.monotonic()
    queue_workers.start()
    wait_for(lambda: second.get_status(refresh=True) == "finished", 15, what="the stranded jobs to run")
    print(f"stranded events jobs ran {time.monotonic() - started:.1f} s after the worker started")
    assert (first.return_value(), second.return_value()) == (5, 7)
    first.refresh()
    second.refresh()
    assert first.ended_at <= second.ended_at  # in their order
    assert connection.llen(queue.intermediate_queue_key) == 0
    assert "Put 2 job(s) that a killed worker had taken back on events" in queue_workers.log_text()


def test_a_stranded_send_is_sent_by_the_next_runner(app, client, connected_instance):
    instance, _, headers = connected_instance
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    runner_pid = int(read_state(app.config, instance["id"])["pid"])
    os.kill(runner_pid, signal.SIGKILL)
    accepted = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201234567890", "text": "stranded", "async": True},
    ).get_json()
    queue = Queue(keys.session_queue(instance["id"]), connection=connection, job_class=MegamsgJob)
    wait_for(lambda: len(queue) >= 1, 10, what="the send job on the session queue")
    strand(connection, queue)

    killed = time.monotonic()
    sent = wait_for(
        lambda: (
            client.get(f"/api/whatsapp/messages/{accepted['id']}", headers=headers).get_json()["message"][
                "status"
            ]
            == "sent"
        ),
        30,
        what="the stranded send to be sent",
    )
    print(f"stranded send sent {time.monotonic() - killed:.1f} s after the kill")
    assert sent
    assert [entry["text"] for entry in outbox(client, headers)] == ["stranded"]
