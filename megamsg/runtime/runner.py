"""A session runner: `python -m megamsg.runtime.runner [--follow-stdin] [INSTANCE_ID ...]`.

A fresh interpreter that imports only its WhatsApp driver and hosts several sessions, each in
threads of its own (session_host): its lease, its driver, and a LeanWorker (rq.SimpleWorker) on
wa:<instance_id> (no fork) so send jobs run next to the live client. The supervisor says which
instances to host: the arguments at start, then (with --follow-stdin) one JSON list per line on
stdin whenever the set changes; stdin closing means the supervisor is gone. It never opens SQLite.
"""

import json
import logging
import signal
import sys
import threading
import time
from typing import Any

from megamsg.config import process_config
from megamsg.runtime.parent_watch import stop_when_orphaned
from megamsg.runtime.session_host import HostedSession

log = logging.getLogger("megamsg.runtime.runner")
STOP_WAIT_SECONDS = 30.0  # the supervisor kills a runner 10 s after asking it to stop anyway


class Runner:
    """The sessions this process hosts, kept equal to the assigned set."""

    def __init__(self, config: dict[str, Any]):
        self.config = config
        self.sessions: dict[str, HostedSession] = {}
        self.leaving: list[HostedSession] = []  # removed, still finishing their last job
        self.lock = threading.Lock()
        self.stopping = False

    def assign(self, instance_ids: set[str]) -> None:
        """Start sessions for new instances, end those no longer assigned (gracefully)."""
        with self.lock:
            if self.stopping:
                return  # a late assignment while every session ends
            for instance_id in sorted(set(self.sessions) - instance_ids):
                log.info("no longer hosting %s; ending its session", instance_id)
                session = self.sessions.pop(instance_id)
                session.remove()
                self.leaving.append(session)
            self.leaving = [session for session in self.leaving if session.thread.is_alive()]
            for instance_id in sorted(instance_ids - set(self.sessions)):
                # Its previous session (if it is still leaving) holds the lease until it is done:
                # the new one waits for it, so an instance never has two sessions here either.
                self.sessions[instance_id] = HostedSession(self.config, instance_id)
                self.sessions[instance_id].start()

    def stop(self) -> None:
        """End every session at once, each finishing its job in progress; wait for them."""
        with self.lock:
            self.stopping = True
            everyone = [*self.sessions.values(), *self.leaving]
            for session in everyone:
                session.remove()
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        for session in everyone:
            session.thread.join(max(0.0, deadline - time.monotonic()))


def follow_assignments(runner: Runner, stop: threading.Event) -> None:
    """Apply each JSON list read from stdin; stop when stdin closes (the supervisor is gone)."""

    def read() -> None:
        for line in sys.stdin:
            try:
                ids = json.loads(line)
            except ValueError:
                log.error("ignoring an assignment that is not JSON: %r", line[:200])
                continue
            runner.assign({str(instance_id) for instance_id in ids})
        log.warning("the supervisor closed our stdin; stopping")
        stop.set()

    threading.Thread(target=read, daemon=True, name="assignments").start()


def run(instance_ids: list[str], follow_stdin: bool = False) -> int:
    """Host the given instances (and those assigned later) until SIGTERM; return the exit code."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("received %s; ending every session", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    runner = Runner(process_config())
    stop_when_orphaned()
    runner.assign(set(instance_ids))
    if follow_stdin:
        follow_assignments(runner, stop)
    while not stop.wait(0.5):
        pass
    runner.stop()
    return 0


def main() -> int:
    """Entry point."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s runner: %(message)s")
    args = sys.argv[1:]
    follow = "--follow-stdin" in args
    instance_ids = [arg for arg in args if arg != "--follow-stdin"]
    if not instance_ids and not follow:
        print("usage: python -m megamsg.runtime.runner [--follow-stdin] [INSTANCE_ID ...]", file=sys.stderr)
        return 2
    return run(instance_ids, follow)


if __name__ == "__main__":
    sys.exit(main())
