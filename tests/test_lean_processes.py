"""Issue 12 memory: long-lived processes load only what they use (the launcher, gunicorn's master)."""

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

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


PREIMPORT = """
import sys
from megamsg.web.preimport import import_web_modules
import_web_modules()
before = set(sys.modules)
from megamsg.web import create_app
create_app()
print(sorted(m for m in set(sys.modules) - before if m.startswith("megamsg.")))
"""


def test_gunicorns_master_imports_every_web_module_create_app_needs(app):
    done = python(PREIMPORT, child_env(dict(app.config)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
