"""CPU-time profiles (cProfile timed by time.thread_time, so waiting costs nothing) of the hot paths.

usage: python -m bench.cpu_profile send|jobs [--count 300] [--top 30]

send: the send endpoint run in this process (Flask test client, the app `gunicorn app:app` serves)
      against a real stack (Redis, supervisor, runner, simulator): CPU per send and where it goes.
jobs: the incoming path's background jobs. The stack's events and webhook workers are paused
      (SIGSTOP) while this process runs an RQ SimpleWorker in burst mode on their queues:
      `count` incoming messages injected, their events jobs, then their webhook deliveries to a
      local receiver; CPU per job including RQ's own per-job work.
A loaded machine slows everything down but hardly changes CPU time per call: compare runs.
"""

import sys

if "--no-hiredis" in sys.argv:  # before redis is imported: redis-py falls back to its Python parser
    sys.modules["hiredis"] = None  # type: ignore[assignment]

import argparse
import cProfile
import os
import pstats
import signal
import time
from typing import Any

from bench.procs import stack_processes
from bench.stack import Stack, wait_until
from bench.webhook_bench import Receiver


def report(profile: cProfile.Profile, label: str, count: int, top: int) -> None:
    """CPU per unit and the functions that take it (cumulative and own)."""
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"== {label}: {total * 1000 / count:.2f} ms CPU per unit ({count} units)")
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def redis_commands(client: Any) -> int:
    """Commands the Redis server has processed so far (all clients): round trips are CPU on both sides."""
    return int(client.info("stats")["total_commands_processed"])


def command_mix(client: Any) -> dict[str, int]:
    """Calls so far by Redis command."""
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in client.info("commandstats").items()}


def print_mix(before: dict[str, int], after: dict[str, int], count: int) -> None:
    """Redis commands per unit, by command, most first."""
    deltas = sorted(((after[k] - before.get(k, 0)) / count, k) for k in after if after[k] > before.get(k, 0))
    print("   per unit: " + ", ".join(f"{k} {n:.1f}" for n, k in reversed(deltas) if n >= 0.05))


def in_stack_env(stack: Stack) -> None:
    """This process talks to the stack's Redis and database as the stack's processes do."""
    os.environ.update(stack.env)
    os.environ["MEGAMSG_REDIS_URL"] = stack.redis_url()


def profile_send(stack: Stack, count: int, top: int) -> None:
    """Sends through the app in this process."""
    from app import app  # noqa: PLC0415 - only once the environment points at the stack

    client = app.test_client()
    instance = stack.instances[0]
    headers = stack.headers(instance)
    body = {"phone_number": "+201234567890", "type": "text", "text": "bench"}
    for _ in range(20):  # warm up: imports, connections, caches
        assert client.post("/api/whatsapp/messages/send", headers=headers, json=body).status_code == 200
    from megamsg.config import load_config  # noqa: PLC0415
    from megamsg.redis_conn import get_redis  # noqa: PLC0415

    redis = get_redis(load_config())
    commands, mix = redis_commands(redis), command_mix(redis)
    started = time.thread_time()
    for _ in range(count):
        client.post("/api/whatsapp/messages/send", headers=headers, json=body)
    print_mix(mix, command_mix(redis), count)
    print(
        f"== send (web process), unprofiled: {(time.thread_time() - started) * 1000 / count:.2f} ms CPU per send; "
        f"{(redis_commands(redis) - commands) / count:.1f} Redis commands per send (all processes)"
    )
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    for _ in range(count):
        client.post("/api/whatsapp/messages/send", headers=headers, json=body)
    profile.disable()
    report(profile, "send (web process)", count, top)


def profile_jobs(stack: Stack, count: int, top: int, worker_class: str) -> None:
    """Events jobs, then webhook jobs, run in this process by the workers' class (or RQ's SimpleWorker)."""
    from rq import SimpleWorker  # noqa: PLC0415

    from megamsg import keys  # noqa: PLC0415
    from megamsg.config import load_config  # noqa: PLC0415
    from megamsg.queues import MegamsgJob, queue  # noqa: PLC0415
    from megamsg.runtime.lean_worker import LeanWorker  # noqa: PLC0415

    config = load_config()
    instance = stack.instances[0]
    receiver = Receiver(stack.webhook_secret(instance))
    headers = stack.headers(instance)
    stack.http.put(
        stack.base + "/api/whatsapp/instance/webhook", headers=headers, json={"url": receiver.url}, timeout=10
    ).raise_for_status()
    assert stack.process is not None
    paused = [
        p for p in stack_processes(stack.process.pid, stack.data_dir) if p.role.startswith("queue_worker")
    ]
    for proc in paused:
        os.kill(proc.pid, signal.SIGSTOP)
    try:
        for i in range(2 * count):  # the first half runs unprofiled: the plain CPU figure
            stack.http.post(
                stack.base + "/api/simulator/incoming",
                headers=headers,
                json={"from": "+201111111111", "push_name": "Bench", "text": f"p-{i}"},
                timeout=30,
            ).raise_for_status()
        events = queue(config, keys.EVENTS_QUEUE)
        # A paused worker may have taken a job in its last blocking pop: take what is queued.
        wait_until(lambda: events.count >= 2 * count - 10, 60, "the events jobs")
        for label, names in (
            ("events jobs", [keys.EVENTS_QUEUE]),
            ("webhook jobs", list(keys.webhook_queues(config))),
        ):
            worker = (LeanWorker if worker_class == "lean" else SimpleWorker)(
                [queue(config, n) for n in names], connection=events.connection, job_class=MegamsgJob
            )
            commands, mix = redis_commands(events.connection), command_mix(events.connection)
            started = time.thread_time()
            worker.work(burst=True, max_jobs=count, logging_level="WARNING")
            print_mix(mix, command_mix(events.connection), count)
            print(
                f"== {label}, unprofiled: {(time.thread_time() - started) * 1000 / count:.2f} ms CPU per job, "
                f"{(redis_commands(events.connection) - commands) / count:.1f} Redis commands per job"
            )
            rest = sum(queue(config, n).count for n in names)
            profile = cProfile.Profile(time.thread_time)
            profile.enable()
            worker.work(burst=True, logging_level="WARNING")
            profile.disable()
            report(profile, label, max(1, rest), top)
        print(f"receiver got {len(receiver.first)} of {2 * count}; bad signatures {receiver.bad_signatures}")
    finally:
        for proc in paused:
            os.kill(proc.pid, signal.SIGCONT)
        receiver.close()


def without_connection_reuse() -> None:
    """For comparison: jobs and requests open and close a connection each time, as before they were reused."""
    from megamsg.delivery import events, webhooks  # noqa: PLC0415
    from megamsg.store.db import connect  # noqa: PLC0415
    from megamsg.web import db  # noqa: PLC0415

    for module in (events, webhooks, db):
        module.acquire = connect  # type: ignore[attr-defined]
        module.release = lambda db, _path: db.conn.close()  # type: ignore[attr-defined]


def main() -> int:
    """Start a stack, link one instance, profile."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["send", "jobs"])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-hiredis", action="store_true", help="compare: redis-py's Python parser")
    parser.add_argument("--no-reuse", action="store_true", help="compare: a new SQLite connection per job")
    parser.add_argument("--worker", choices=["lean", "simple"], default="lean", help="jobs: the worker class")
    args = parser.parse_args()
    if args.no_reuse:
        without_connection_reuse()
    with Stack("simulator") as stack:
        stack.link(stack.add_instances(1))
        in_stack_env(stack)
        if args.what == "send":
            profile_send(stack, args.count, args.top)
        else:
            profile_jobs(stack, args.count, args.top, args.worker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
