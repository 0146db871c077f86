"""GET /healthz: is Redis reachable, is the database usable."""

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from megamsg.redis_conn import get_redis
from megamsg.web.db import get_db

bp = Blueprint("health", __name__)


def check_redis(config: dict) -> str:
    """'ok' or the reason Redis is unusable."""
    try:
        get_redis(config, quick=True).ping()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return f"error: {type(exc).__name__}"


def check_database() -> str:
    """'ok' or the reason SQLite is unusable."""
    try:
        get_db().execute("SELECT count(*) FROM schema_migrations").fetchone()
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return f"error: {type(exc).__name__}"


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when everything answers, 503 naming what is down."""
    redis_state = check_redis(current_app.config)
    db_state = check_database()
    ok = redis_state == "ok" and db_state == "ok"
    body = {"ok": ok, "redis": redis_state, "database": db_state}
    if not ok:
        down = [name for name, state in (("redis", redis_state), ("database", db_state)) if state != "ok"]
        body["message"] = "Unavailable: " + ", ".join(down) + "."
    return jsonify(body), (200 if ok else 503)
