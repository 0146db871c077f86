"""The web process (`gunicorn app:app`): the Flask factory, the API and the dashboard.

Imports store, delivery and the shared modules; never the runtime (it talks to runners through Redis).
"""

import logging
import sys
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from megamsg.config import load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory."""
    from megamsg.web.maintenance import is_maintenance_command

    maintenance = is_maintenance_command(sys.argv)
    if maintenance:
        # No secret key file is written into a data directory a restore is about to fill.
        test_config = {"SECRET_KEY": "maintenance-command", **(test_config or {})}
    config = load_config(test_config)
    app = Flask(__name__, template_folder="../../templates", static_folder="../../static")
    app.config.update(config)
    app.config.update(
        # Base64 of the largest document, with room for escaped slashes (PHP's json_encode writes
        # "\/") and line-wrapped base64, plus the other fields.
        MAX_CONTENT_LENGTH=int(config["MAX_DOCUMENT_BYTES"] * 4 / 3 * 1.05) + 64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=bool(config["SECURE_COOKIES"]),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="megamsg_session",
        WTF_CSRF_TIME_LIMIT=None,
    )
    if isinstance(app.json, DefaultJSONProvider):
        app.json.sort_keys = False  # answers keep the contract's field order
    if config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's own address (login throttling) and scheme, as the proxies saw them.
        hops = int(config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way to add middleware
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from megamsg.web import api, cli, db, errors, favicon, health, security_headers, timefmt
    from megamsg.web.csrf import csrf
    from megamsg.web.dashboard import (
        account,
        api_keys,
        delivery_control,
        instance_actions,
        live,
        messages,
        pages,
        session,
        users,
        webhooks,
    )
    from megamsg.web.docs import guide, reference, sandbox

    db.init_app(app, migrate_now=not maintenance)
    errors.init_app(app)
    security_headers.init_app(app)
    timefmt.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(favicon.bp)
    app.register_blueprint(api.bp)
    for blueprint in (api.bp, *api.CHILDREN):
        csrf.exempt(blueprint)  # the API authenticates by token, not cookie
    dashboard_pages = (
        pages,
        account,
        instance_actions,
        live,
        session,
        users,
        webhooks,
        messages,
        api_keys,
        delivery_control,
    )
    for page in (*dashboard_pages, guide, sandbox, reference):
        app.register_blueprint(page.bp)
    from megamsg.web import metrics_route

    app.register_blueprint(metrics_route.bp)
    cli.init_app(app)
    if not maintenance:
        _announce_setup_code(app)
    return app


def _announce_setup_code(app: Flask) -> None:
    """Print the first-admin setup code to the log while no user exists."""
    from megamsg.store.db import connect
    from megamsg.store.setup_code import ensure_setup_code

    database = connect(app.config["DATABASE"])
    try:
        code = ensure_setup_code(database)
    finally:
        database.conn.close()
    if code:
        app.logger.warning(
            "No user exists yet. Open the dashboard and create the first admin with setup code: %s", code
        )
