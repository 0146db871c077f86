"""The request's SQLite connection (`get_db()`), as in Flask's tutorial."""

import sqlite_utils
from flask import Flask, current_app, g

from megamsg.store.db import connect, migrate


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


def init_app(app: Flask) -> None:
    """Migrate at start and close the connection after each request."""
    migrate(app.config["DATABASE"])
    app.teardown_appcontext(close_db)
