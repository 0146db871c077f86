"""`flask megamsg migrate --check`: report pending migrations without applying them."""

import os
import sys

import click

from megamsg.store import schema
from megamsg.store.db import connect

EXIT_PENDING = 1
EXIT_TOO_NEW = 2


def check_migrations(path: str) -> None:
    """Print whether the database is up to date; exit 1 when migrations are pending, 2 when it is newer."""
    if not os.path.exists(path):
        click.echo(f"No database at {path} yet: every migration is pending (1-{schema.LATEST}).")
        sys.exit(EXIT_PENDING)
    db = connect(path)
    try:
        unknown = schema.unknown_versions(db)
        if unknown:
            click.echo(schema.too_new_message(path, max(unknown)), err=True)
            sys.exit(EXIT_TOO_NEW)
        waiting = schema.pending(db)
        version = schema.schema_version(db)
    finally:
        db.conn.close()
    if not waiting:
        click.echo(f"Database is up to date (schema version {version}).")
        return
    click.echo(f"Database at schema version {version}; {len(waiting)} migration(s) pending:")
    for number, name in waiting:
        click.echo(f"  {number}: {name}")
    click.echo("Back it up (flask --app app megamsg backup PATH), then run: flask --app app megamsg migrate")
    sys.exit(EXIT_PENDING)
