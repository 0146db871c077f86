"""Upgrades: a database at every earlier schema version migrates to the latest with its data intact.

Generic over megamsg.store.migrations.MIGRATIONS: each new migration is covered without editing
this file. A migration that transforms existing rows on purpose must say so in CHANGED_ON_PURPOSE.
"""

import os
import sqlite3
import subprocess
import sys

import pytest

from megamsg.store import migrations, schema
from megamsg.store.db import connect, migrate
from megamsg.store.schema import LATEST, SchemaTooNew
from megamsg.web import create_app
from tests.processes import REPO, child_env

EARLIER = [version for version, _name, _migrate in migrations.MIGRATIONS]
# (table, column) pairs a later migration rewrites on purpose.
CHANGED_ON_PURPOSE: set[tuple[str, str]] = {
    ("webhook_events", "payload"),  # 10: stored bodies gain their sequence (JSON ones only)
}
ROWS_PER_TABLE = 2


def build_at(path: str, version: int, monkeypatch) -> None:
    """A database migrated through `version` by the real apply_migrations (later ones unknown)."""
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", [m for m in migrations.MIGRATIONS if m[0] <= version])
        db = connect(path)
        try:
            assert migrations.apply_migrations(db) == [m[0] for m in migrations.MIGRATIONS]
        finally:
            db.conn.close()


def _value(table: str, column: dict, n: int, parents: dict[str, list]):
    """A representative value for a column, valid for its foreign key and type."""
    if column["fk"]:
        return parents[column["fk"]][n]
    kind = (column["type"] or "").upper()
    if "INT" in kind:
        return n + 1
    if kind in ("REAL", "FLOAT"):
        return n + 0.5
    return f"{table}.{column['name']}#{n}"


def fill(path: str) -> dict[str, list[dict]]:
    """Insert ROWS_PER_TABLE representative rows into every table; return them as read back."""
    raw = sqlite3.connect(path)
    raw.row_factory = sqlite3.Row
    tables = [name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    tables = [name for name in tables if name != "schema_migrations" and not name.startswith("sqlite_")]
    fks = {
        table: {
            row["from"]: (row["table"], row["to"])
            for row in raw.execute(f"PRAGMA foreign_key_list([{table}])")
        }
        for table in tables
    }
    # Parents first: a table is filled once every table it references is.
    ordered: list[str] = []
    while len(ordered) < len(tables):
        ready = [t for t in tables if t not in ordered and all(p in ordered for p, _ in fks[t].values())]
        assert ready, f"foreign keys form a cycle among {set(tables) - set(ordered)}"
        ordered += sorted(ready)
    values: dict[str, list] = {}
    for table in ordered:
        columns = []
        for info in raw.execute(f"PRAGMA table_info([{table}])"):
            fk = fks[table].get(info["name"])
            columns.append(
                {"name": info["name"], "type": info["type"], "fk": f"{fk[0]}.{fk[1]}" if fk else None}
            )
        for n in range(ROWS_PER_TABLE):
            row = {c["name"]: _value(table, c, n, values) for c in columns}
            names = ", ".join(f"[{name}]" for name in row)
            raw.execute(
                f"INSERT INTO [{table}] ({names}) VALUES ({', '.join('?' * len(row))})", list(row.values())
            )
        for c in columns:
            values[f"{table}.{c['name']}"] = [_value(table, c, n, values) for n in range(ROWS_PER_TABLE)]
    raw.commit()
    snapshot = {
        table: [dict(r) for r in raw.execute(f"SELECT * FROM [{table}] ORDER BY rowid")] for table in tables
    }
    raw.close()
    return snapshot


def shape(path: str) -> dict:
    """Tables with their columns and indexes, to compare an upgraded schema with a fresh one."""
    raw = sqlite3.connect(path)
    tables = sorted(name for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type='table'"))
    result = {}
    for table in tables:
        columns = sorted(raw.execute(f"PRAGMA table_info([{table}])").fetchall())
        indexes = sorted(
            (
                unique,
                tuple(c[2] or "<expression>" for c in raw.execute(f"PRAGMA index_info([{name}])")),
                partial,
            )
            for _seq, name, unique, _origin, partial in raw.execute(f"PRAGMA index_list([{table}])")
        )
        result[table] = {"columns": [c[1:] for c in columns], "indexes": indexes}
    raw.close()
    return result


@pytest.mark.slow  # a database per earlier schema version, each filled and upgraded
@pytest.mark.parametrize("version", EARLIER)
def test_every_earlier_schema_migrates_to_the_latest_keeping_its_data(version, tmp_path, monkeypatch):
    path = str(tmp_path / "old.db")
    build_at(path, version, monkeypatch)
    before = fill(path)

    applied = migrate(path)

    assert applied == [v for v in EARLIER if v > version]
    db = connect(path)
    assert schema.schema_version(db) == LATEST and schema.pending(db) == []
    for table, rows in before.items():
        after = [dict(r) for r in db.execute_returning_dicts(f"SELECT * FROM [{table}] ORDER BY rowid")]
        assert len(after) == len(rows), f"{table}: rows lost or added by the upgrade from {version}"
        for old, new in zip(rows, after, strict=True):
            kept = {k: v for k, v in old.items() if (table, k) not in CHANGED_ON_PURPOSE}
            assert {k: new.get(k) for k in kept} == kept, f"{table} changed by the upgrade from {version}"
    db.conn.close()
    fresh = str(tmp_path / "fresh.db")
    migrate(fresh)
    assert shape(path) == shape(fresh), f"the schema upgraded from {version} differs from a fresh one"


def test_the_app_runs_on_an_upgraded_database(tmp_path, monkeypatch, config_overrides):
    # Today's code (accounts, instances, the send path's log) works on the oldest schema, upgraded.
    build_at(os.path.join(config_overrides["DATA_DIR"], "megamsg.db"), EARLIER[0], monkeypatch)
    app = create_app(config_overrides)
    from megamsg.store import accounts, instances, message_log

    db = connect(app.config["DATABASE"])
    owner = accounts.create_user(db, "old@example.com", "correct horse battery")
    instance, token = instances.create_instance(db, owner["id"], "Old")
    message_log.create_outgoing(db, instance["id"], {"peer": "+201000000009", "type": "text", "text": "hi"})
    db.conn.close()
    answer = app.test_client().get(
        "/api/whatsapp/messages",
        headers={"Authorization": f"Bearer {token}", "X-Instance-Id": instance["id"]},
    )
    assert answer.status_code == 200 and len(answer.get_json()["messages"]) == 1


def _newer(path: str) -> None:
    migrate(path)
    raw = sqlite3.connect(path)
    raw.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', datetime('now'))", [LATEST + 1])
    raw.commit()
    raw.close()


def test_the_web_refuses_a_database_newer_than_the_code(config_overrides):
    _newer(os.path.join(config_overrides["DATA_DIR"], "megamsg.db"))
    with pytest.raises(SchemaTooNew, match=f"schema version {LATEST + 1}.*up to {LATEST} only"):
        create_app(config_overrides)


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "app:app"],
        [sys.executable, "worker.py"],
    ],
    ids=["web", "worker"],
)
def test_web_and_worker_processes_refuse_a_newer_database_with_a_clear_message(argv, config_overrides):
    _newer(os.path.join(config_overrides["DATA_DIR"], "megamsg.db"))
    env = child_env(config_overrides)
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert (
        f"has schema version {LATEST + 1}, but this MegaMsg knows versions up to {LATEST} only" in done.stderr
    )


def _check(config) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "flask"),
            "--app",
            "app",
            "megamsg",
            "migrate",
            "--check",
        ],
        cwd=REPO,
        env=child_env(config),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("version", [EARLIER[0], EARLIER[-2]], ids=["oldest", "one-behind"])
def test_migrate_check_names_pending_migrations_and_applies_none(version, config_overrides, monkeypatch):
    path = os.path.join(config_overrides["DATA_DIR"], "megamsg.db")
    build_at(path, version, monkeypatch)

    done = _check(config_overrides)

    assert done.returncode == 1, done.stderr
    for number, name, _migrate in migrations.MIGRATIONS:
        assert (f"  {number}: {name}" in done.stdout) == (number > version)
    db = connect(path)
    assert schema.schema_version(db) == version  # the check applied nothing
    db.conn.close()


def test_migrate_check_after_migrate_says_up_to_date(config_overrides):
    migrate(os.path.join(config_overrides["DATA_DIR"], "megamsg.db"))
    done = _check(config_overrides)
    assert done.returncode == 0 and f"up to date (schema version {LATEST})" in done.stdout


def test_migrate_check_on_a_newer_database_exits_2(config_overrides):
    _newer(os.path.join(config_overrides["DATA_DIR"], "megamsg.db"))
    done = _check(config_overrides)
    assert done.returncode == 2 and "a newer MegaMsg has migrated it" in done.stderr
