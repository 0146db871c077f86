"""SQLite connections through sqlite-utils (WAL mode), transactions and migrations; no Flask here."""

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from megamsg.store.migrations import apply_migrations
from megamsg.store.schema import refuse_newer


def connect(path: str) -> sqlite_utils.Database:
    """Open a connection with the settings every process uses."""
    Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not os.path.exists(path):
        # Messages and webhook secrets live here: readable by the service account only.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[None]:
    """A write transaction taken up front (BEGIN IMMEDIATE): read-then-write without races."""
    if db.conn.in_transaction:
        db.conn.commit()
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def insert_row(db: sqlite_utils.Database, table: str, row: dict) -> int:
    """Plain INSERT inside the caller's transaction (sqlite-utils' insert commits on its own)."""
    columns = ", ".join(f"[{name}]" for name in row)
    marks = ", ".join("?" for _ in row)
    cursor = db.execute(f"INSERT INTO [{table}] ({columns}) VALUES ({marks})", list(row.values()))
    return cursor.rowcount


def migrate(path: str) -> list[int]:
    """Apply pending migrations to the database at path (SchemaTooNew if a newer MegaMsg wrote it)."""
    db = connect(path)
    try:
        refuse_newer(db, path)
        return apply_migrations(db)
    finally:
        db.conn.close()


def first_row(db: sqlite_utils.Database, sql: str, params: list | tuple = ()) -> dict | None:
    """The first row of a query as a dict, or None."""
    for row in db.query(sql, params):
        return dict(row)
    return None
