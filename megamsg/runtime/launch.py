"""`make run`: migrate, start embedded Redis if needed, run web + worker with honcho."""

import logging
import os
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from megamsg.config import load_config
from megamsg.redis_conn import embedded_url, stop_embedded
from megamsg.runtime.data_lock import DataDirInUse, DataDirLock, acquire
from megamsg.store.db import connect, migrate
from megamsg.store.setup_code import ensure_setup_code


def main() -> int:
    """Run the stack in the foreground until Ctrl-C; return honcho's exit code."""
    # What the embedded Redis start found and did (a stale registry after a crash) is logged.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config()
    try:
        lock = acquire(config["DATA_DIR"])
    except DataDirInUse as exc:
        print(exc, file=sys.stderr, flush=True)
        return 1
    try:
        return _run(config, lock)
    finally:
        lock.release()


def _run(config: dict[str, Any], lock: DataDirLock) -> int:
    """Migrate, start the embedded Redis if needed, run honcho until it exits; return its exit code."""
    migrate(config["DATABASE"])
    env = dict(os.environ)
    # The Procfile says `gunicorn` and `python`: make them this virtualenv's, activated or not.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    embedded = not config["REDIS_URL"]
    if embedded:
        # This process owns the embedded server; web and worker attach through its socket.
        env["MEGAMSG_REDIS_URL"] = embedded_url(config["DATA_DIR"])
        print(f"Redis: embedded, data in {os.path.join(config['DATA_DIR'], 'redis')}", flush=True)
    port = config["PORT"]
    env.setdefault("MEGAMSG_BIND", f"127.0.0.1:{port}")
    env["PORT"] = str(port)
    db = connect(config["DATABASE"])
    code = ensure_setup_code(db)
    db.conn.close()
    print(f"MegaMsg: http://127.0.0.1:{port}  (Ctrl-C stops everything)", flush=True)
    if code:
        print(
            f"First run: create the admin at http://127.0.0.1:{port}/setup with setup code {code}", flush=True
        )
    honcho = [sys.executable, "-m", "megamsg.runtime.procfile", "start", "-f", "Procfile", "web", "worker"]
    # honcho keeps the lock too, so a stack whose launcher was killed holds it until it has stopped.
    child = subprocess.Popen(honcho, env=env, start_new_session=True, pass_fds=(lock.fileno(),))

    def forward(signum: int, _frame: FrameType | None) -> None:
        if child.poll() is None:
            child.send_signal(signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)  # the terminal closed: stop everything, leave nothing behind
    try:
        returncode = child.wait()
    finally:
        if embedded:
            # Web and worker have exited: this process owns the server, stop it (saving its data).
            stop_embedded(config["DATA_DIR"], force=True)
    return returncode


if __name__ == "__main__":
    sys.exit(main())
