"""`make run`: migrate, start the embedded Redis if needed, run web + worker and keep them all alive."""

import logging
import os
import signal
import sys
import traceback
from types import FrameType
from typing import Any

from megamsg.config import load_config
from megamsg.data_permissions import make_private
from megamsg.redis_conn import embedded_alive, embedded_url, restart_embedded, stop_embedded
from megamsg.runtime.data_lock import DataDirInUse, DataDirLock, acquire
from megamsg.runtime.stack import Service, run, stop_all


def main() -> int:
    """Run the stack in the foreground until Ctrl-C, SIGTERM or a closed terminal."""
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
    """Migrate, start the embedded Redis if needed, keep web and worker running until asked to stop."""
    make_private(config["DATA_DIR"])  # before the embedded Redis, web and worker start
    code = prepare_database(config["DATABASE"])
    env = dict(os.environ)
    # gunicorn, python and flask are this virtualenv's, activated or not.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    embedded = not config["REDIS_URL"]
    if embedded:
        # This process owns the embedded server; web and worker attach through its socket.
        env["MEGAMSG_REDIS_URL"] = embedded_url(config["DATA_DIR"])
        print(f"Redis: embedded, data in {os.path.join(config['DATA_DIR'], 'redis')}", flush=True)
    port = config["PORT"]
    env.setdefault("MEGAMSG_BIND", f"127.0.0.1:{port}")
    env["PORT"] = str(port)
    print(f"MegaMsg: http://127.0.0.1:{port}  (Ctrl-C stops everything)", flush=True)
    if code:
        print(
            f"First run: create the admin at http://127.0.0.1:{port}/setup with setup code {code}", flush=True
        )
    # Both keep the data directory's lock too: a launcher killed with -9 leaves it held until its
    # stack has stopped by itself (each child stops when it finds itself orphaned).
    env["MEGAMSG_STOP_WHEN_ORPHANED"] = "1"
    services = [
        Service(
            "web",
            [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "app:app"],
            env,
            (lock.fileno(),),
        ),
        Service("worker", [sys.executable, "worker.py"], env, (lock.fileno(),)),
    ]
    stopping: list[int] = []

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGHUP, request_stop)  # the terminal closed: stop everything, leave nothing behind
    redis_watch = RedisWatch(config["DATA_DIR"]) if embedded else None
    try:
        run(services, lambda: bool(stopping), redis_watch)
    finally:
        stop_all(services)
        if embedded:
            # Web and worker have exited: this process owns the server, stop it (saving its data).
            stop_embedded(config["DATA_DIR"], force=True)
    return 0


def prepare_database(database: str) -> str | None:
    """Migrate, and return the first run's setup code, in a forked child that exits afterwards.

    The launcher lives as long as the stack: the store's modules (sqlite-utils, werkzeug) would
    stay loaded in it for nothing, some 7 MB.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        os._exit(_prepare_in_child(database, writer))
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        answer = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("could not prepare the database (see the error above)")
    return answer or None


def _prepare_in_child(database: str, writer: int) -> int:
    """The child's part: migrate, write the setup code (if any) to writer; the exit status."""
    try:
        from megamsg.store.db import connect, migrate
        from megamsg.store.setup_code import ensure_setup_code

        migrate(database)
        db = connect(database)
        try:
            code = ensure_setup_code(db)
        finally:
            db.conn.close()
        os.write(writer, (code or "").encode())
        return 0
    except BaseException:  # noqa: BLE001 - reported here, the launcher stops on the status
        traceback.print_exc()
        return 1
    finally:
        sys.stderr.flush()


class RedisWatch:
    """Start the embedded Redis again, on the same data and socket, when it stops answering."""

    MISSES_BEFORE_RESTART = 3  # ticks of 0.5 s: a busy server gets a second and a half

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.misses = 0

    def __call__(self) -> None:
        """One check; after enough missed answers, a restart."""
        if embedded_alive(self.data_dir):
            self.misses = 0
            return
        self.misses += 1
        if self.misses < self.MISSES_BEFORE_RESTART:
            return
        logging.getLogger(__name__).warning("embedded Redis is not answering; starting it again")
        try:
            restart_embedded(self.data_dir)
            self.misses = 0
        except Exception:  # noqa: BLE001 - try again next tick; the web answers 503 meanwhile
            logging.getLogger(__name__).exception("could not start the embedded Redis again")


if __name__ == "__main__":
    sys.exit(main())
