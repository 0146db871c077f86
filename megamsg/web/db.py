"""The request's SQLite connection (`get_db()`), as in Flask's tutorial."""

import sqlite_utils
from flask import Flask, current_app, g

from megamsg.store.db import acquire, migrate, release
from megamsg.store.schema import SchemaTooNew


def get_db() -> sqlite_utils.Database:
    """The request's database connection, taken on first use (a reused one when the process has one idle)."""
    if "db" not in g:
        g.db = acquire(current_app.config["DATABASE"])
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    """Hand the request's connection back (any open transaction rolled back), if one was taken."""
    db = g.pop("db", None)
    if db is not None:
        release(db, current_app.config["DATABASE"])


def init_app(app: Flask, migrate_now: bool = True) -> None:
    """Migrate at start (refusing a database newer than the code) and close the connection after each request."""
    if migrate_now:
        try:
            migrate(app.config["DATABASE"])
        except SchemaTooNew as exc:
            app.logger.critical("Refusing to start: %s", exc)
            raise
    app.teardown_appcontext(close_db)
