"""store.db.acquire/release: connections reused within a process, never across a fork or a replaced file."""

import os
import shutil

from megamsg.store.db import acquire, connect, migrate, release


def _database(tmp_path, name: str = "megamsg.db") -> str:
    path = str(tmp_path / name)
    migrate(path)
    return path


def test_a_released_connection_is_handed_out_again(tmp_path):
    path = _database(tmp_path)
    first = acquire(path)
    release(first, path)
    again = acquire(path)
    assert again is first
    release(again, path)


def test_two_connections_in_use_at_once_are_distinct(tmp_path):
    path = _database(tmp_path)
    one, two = acquire(path), acquire(path)
    assert one is not two
    release(one, path)
    release(two, path)


def test_release_rolls_back_what_was_left_uncommitted(tmp_path):
    path = _database(tmp_path)
    db = acquire(path)
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO users (email, password_hash, created_at) VALUES ('a@b.c', 'x', 'now')")
    release(db, path)
    check = connect(path)
    assert check.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    again = acquire(path)
    assert not again.conn.in_transaction
    release(again, path)


def test_after_the_file_is_replaced_a_new_connection_reads_the_new_file(tmp_path):
    path = _database(tmp_path)
    other = _database(tmp_path, "other.db")
    writer = connect(other)
    writer.execute("INSERT INTO users (email, password_hash, created_at) VALUES ('new@b.c', 'x', 'now')")
    writer.conn.commit()
    writer.conn.close()
    old = acquire(path)
    release(old, path)
    shutil.copy(other, path + ".tmp")
    os.replace(path + ".tmp", path)  # what a restore does
    fresh = acquire(path)
    assert fresh is not old
    assert fresh.execute("SELECT email FROM users").fetchall() == [("new@b.c",)]
    release(fresh, path)


def test_a_forked_child_never_gets_its_parents_connection(tmp_path):
    path = _database(tmp_path)
    parent = acquire(path)
    release(parent, path)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer whether it was handed the parent's connection
        os.write(write, b"same" if acquire(path) is parent else b"new")
        os._exit(0)
    os.close(write)
    answer = os.read(read, 10)
    os.waitpid(pid, 0)
    assert answer == b"new"


def test_idle_connections_of_only_two_databases_are_kept(tmp_path):
    paths = [_database(tmp_path, f"db{n}.db") for n in range(3)]
    held = []
    for path in paths:
        db = acquire(path)
        release(db, path)
        held.append(db)
    # The first database's idle connection was closed when the third one's was kept.
    assert acquire(paths[0]) is not held[0]
    assert acquire(paths[2]) is held[2]
