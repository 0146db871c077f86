"""The request's SQLite connection (`get_db()`), as in Flask's tutorial."""

import sqlite_utils
from flask import Flask, current_app, g

from megamsg.store.db import connect, migrate
from megamsg.store.schema import SchemaTooNew


def get_db() -> sqlite_utils.Database:
    """The request's database connection, opened on first use."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    """Close the request's connection, if one was opened."""
    db = g.pop("db", None)
    if db is not None:
        db.conn.close()


def init_app(app: Flask, migrate_now: bool = True) -> None:
    """Migrate at start (refusing a database newer than the code) and close the connection after each request."""
    if migrate_now:
        try:
            migrate(app.config["DATABASE"])
        except SchemaTooNew as exc:
            app.logger.critical("Refusing to start: %s", exc)
            raise
    app.teardown_appcontext(close_db)
