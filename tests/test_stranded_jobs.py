"""A job a worker took but never began (killed between RQ's LMOVE and its started registry) runs within seconds.

RQ moves a job from `rq:queue:<name>` to `rq:queue:<name>:intermediate` when a worker takes it, and
into the started registry when the worker begins it. A worker killed in between leaves it in the
intermediate list, which RQ fails (then retries) only once a maintenance pass has seen it there
for a minute. The tests below leave a job exactly there, as such a kill does, with RQ's own LMOVE.
"""

import os
import signal
import time

import pytest
import redis
from rq import Queue, Worker
from rq.executions import Execution

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


# Known flaky (about 1 run in 8 since runners restart within a second of a kill): the accepted
# send's job is sometimes gone from the session queue before the test can strand it. Not yet
# understood; the burst drills' runner kill (test_faults.py) covers the product path meanwhile.
@pytest.mark.xfail(strict=False, reason="races the runner restarted within a second; under investigation")
def test_a_stranded_send_is_sent_by_the_next_runner(app, client, connected_instance):
    instance, _, headers = connected_instance
    connection = redis.Redis.from_url(app.config["REDIS_URL"])
    runner_pid = int(read_state(app.config, instance["id"])["pid"])
    os.kill(runner_pid, signal.SIGKILL)
    answer = client.post(
        "/api/whatsapp/messages/send",
        headers=headers,
        json={"phone_number": "+201234567890", "text": "stranded", "async": True},
    )
    assert answer.status_code == 202, answer.get_json()
    accepted = answer.get_json()
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


def test_a_job_whose_worker_died_as_it_began_runs_when_the_next_worker_starts(app, queue_workers, redis_url):
    # RQ begins a job in two steps: the worker records an execution in the started registry (with
    # its name), then marks the job as its own and takes it off the intermediate list. A worker
    # killed between the two leaves the job in both places and the job without a worker name.
    connection = redis.Redis.from_url(redis_url)
    first = queue_workers.start()
    name = wait_for(
        lambda: next((w.name for w in Worker.all(connection=connection) if w.pid == first.pid), None),
        20,
        what="the first worker to register",
    )
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    queue = Queue(keys.EVENTS_QUEUE, connection=connection, job_class=MegamsgJob)
    job = queue.enqueue("builtins.len", "begun", result_ttl=60)  # no Retry needed: it never ran
    strand(connection, queue)
    with connection.pipeline() as pipeline:
        Execution.create(job, 60, pipeline=pipeline, worker_name=name)
        pipeline.execute()
    assert MegamsgJob.fetch(job.id, connection=connection).worker_name in (None, "")

    started = time.monotonic()
    queue_workers.start()
    wait_for(lambda: job.get_status(refresh=True) == "finished", 15, what="the job to run")
    print(f"the job ran {time.monotonic() - started:.1f} s after the next worker started")
    assert job.return_value() == 5
    assert connection.llen(queue.intermediate_queue_key) == 0  # nothing left for RQ to fail later
    assert "Handed 1 job(s) of a crashed worker on events back to RQ" in queue_workers.log_text()
