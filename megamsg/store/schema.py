"""The schema version of a database against the migrations this code knows."""

import sqlite_utils

from megamsg.store.migrations import MIGRATIONS

LATEST = max(version for version, _name, _migrate in MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer MegaMsg than this one (the message says what to do)."""


def applied_versions(db: sqlite_utils.Database) -> set[int]:
    """Versions recorded in schema_migrations (none for a fresh database)."""
    if "schema_migrations" not in db.table_names():
        return set()
    return {row[0] for row in db.execute("SELECT version FROM schema_migrations")}


def schema_version(db: sqlite_utils.Database) -> int:
    """The highest migration applied (0 for a fresh database)."""
    return max(applied_versions(db), default=0)


def pending(db: sqlite_utils.Database) -> list[tuple[int, str]]:
    """(version, name) of every known migration not applied yet, in order."""
    done = applied_versions(db)
    return [(version, name) for version, name, _migrate in MIGRATIONS if version not in done]


def unknown_versions(db: sqlite_utils.Database) -> list[int]:
    """Applied versions this code has no migration for: a newer MegaMsg wrote them."""
    known = {version for version, _name, _migrate in MIGRATIONS}
    return sorted(applied_versions(db) - known)


def too_new_message(path: str, version: int) -> str:
    """What to tell an operator whose database is newer than the code."""
    return (
        f"The database {path} has schema version {version}, but this MegaMsg knows versions up to "
        f"{LATEST} only: a newer MegaMsg has migrated it. Run that newer version (migrations are "
        "forward-only, a downgrade is not possible), or restore a backup made by this version."
    )


def refuse_newer(db: sqlite_utils.Database, path: str) -> None:
    """Raise SchemaTooNew when the database holds migrations this code does not know."""
    unknown = unknown_versions(db)
    if unknown:
        raise SchemaTooNew(too_new_message(path, max(unknown)))
