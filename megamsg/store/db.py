"""SQLite connections through sqlite-utils (WAL mode), transactions and migrations; no Flask here."""

import os
import sqlite3
import threading
import weakref
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


# Idle connections kept for reuse, per database path: a new connection parses the whole schema
# on its first statement (~0.7 ms of CPU with ours), more than a short job or request does.
_POOL_SIZE = 8
_POOL_PATHS = 2  # a process uses one database; tests open many: never hold files of old ones
_idle: dict[str, list[tuple[sqlite_utils.Database, int, tuple[int, int]]]] = {}
_opened: "weakref.WeakKeyDictionary[sqlite_utils.Database, tuple[int, int]]" = weakref.WeakKeyDictionary()
_idle_lock = threading.Lock()


def _file_id(path: str) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_dev, status.st_ino


def acquire(path: str) -> sqlite_utils.Database:
    """A connection as connect() gives, reused from release() when one is idle for the same file."""
    try:
        current = _file_id(path)  # before connecting: a file replaced meanwhile never matches later
    except OSError:
        return connect(path)
    with _idle_lock:
        idle = _idle.get(path, [])
        while idle:
            db, pid, file_id = idle.pop()
            # Never a connection from before a fork, nor to a file since replaced (a restore): an
            # open connection keeps its inode alive, so no other file can have taken its number.
            if pid == os.getpid() and file_id == current:
                return db
            _close_quietly(db)
    db = connect(path)
    _opened[db] = current
    return db


def release(db: sqlite_utils.Database, path: str) -> None:
    """Hand a connection from acquire() back (closed instead if enough are idle or it cannot be reused)."""
    file_id = _opened.get(db)
    try:
        if db.conn.in_transaction:
            db.conn.rollback()  # what closing it would have done
    except sqlite3.Error:
        file_id = None
    stale: list[sqlite_utils.Database] = []
    kept = False
    if file_id is not None:
        with _idle_lock:
            if path not in _idle and len(_idle) >= _POOL_PATHS:
                oldest = next(iter(_idle))
                stale = [entry[0] for entry in _idle.pop(oldest)]
            idle = _idle.setdefault(path, [])
            if len(idle) < _POOL_SIZE:
                idle.append((db, os.getpid(), file_id))
                kept = True
    for other in stale if kept else [*stale, db]:
        _close_quietly(other)


def _close_quietly(db: sqlite_utils.Database) -> None:
    try:
        db.conn.close()
    except sqlite3.Error:
        pass


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
