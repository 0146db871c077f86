"""Issue 12 memory: the launcher keeps only what it uses; gunicorn's workers share the app of their master."""

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import requests

from megamsg.store.db import migrate
from megamsg.store.schema import LATEST
from tests.conftest import wait_for
from tests.processes import child_env

REPO = str(Path(__file__).resolve().parent.parent)

PREPARE = """
import json, sys
from megamsg.runtime.launch import prepare_database
code = prepare_database(sys.argv[1])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlite_utils", "werkzeug") or m.startswith("megamsg.store"))
print(json.dumps({"code": code, "loaded": loaded}))
"""


def python(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter (nothing this test process imported counts)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_launcher_migrates_in_a_child_and_keeps_the_store_unloaded(app, tmp_path):
    database = str(tmp_path / "fresh.db")
    done = python(PREPARE, child_env(dict(app.config)), database)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["loaded"] == []
    assert answer["code"]  # a fresh database has no user yet: the first run's setup code
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"instances", "users"} <= tables


def test_a_database_that_cannot_be_prepared_stops_the_launcher(app, tmp_path):
    done = python(PREPARE, child_env(dict(app.config)), str(tmp_path))  # a directory, not a file
    assert done.returncode != 0
    assert "could not prepare the database" in done.stderr
    assert "Traceback" in done.stderr  # the child's own error, for the operator


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_gunicorns_workers_share_the_app_their_master_created(config_overrides, tmp_path):
    port = free_port()
    env = child_env(config_overrides, WEB_CONCURRENCY="2", MEGAMSG_BIND=f"127.0.0.1:{port}")
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "app:app"], cwd=REPO, env=env, stdout=log, stderr=log
        )
    try:
        wait_for(lambda: log_path.read_text().count("Booting worker with pid") == 2, 60, what="two workers")
        wait_for(lambda: _healthy(port), 30, what="the web to answer")
    finally:
        web.terminate()
        web.wait(60)


def test_the_master_creates_the_app_before_any_worker_starts(config_overrides, tmp_path):
    # A database newer than the code stops create_app: in the master, so no worker ever boots.
    database = os.path.join(config_overrides["DATA_DIR"], "megamsg.db")
    migrate(database)
    with sqlite3.connect(database) as raw:
        raw.execute(
            "INSERT INTO schema_migrations VALUES (?, 'from the future', datetime('now'))", [LATEST + 1]
        )
    env = child_env(config_overrides, MEGAMSG_BIND=f"127.0.0.1:{free_port()}")
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "app:app"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f"has schema version {LATEST + 1}" in done.stderr
    assert "Booting worker" not in done.stderr


def _healthy(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_the_supervisor_does_not_load_requests(app):
    # It publishes webhook events (scheduled sends) but never delivers one: requests is ~5 MB there.
    done = python(
        "import sys, megamsg.runtime.supervisor; print('requests' in sys.modules)",
        child_env(dict(app.config)),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
