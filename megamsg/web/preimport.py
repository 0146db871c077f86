"""gunicorn's master imports the web's modules before forking, so its workers share those pages."""

import gc
import importlib

# What create_app imports (not the app itself: no database, Redis or other state before the fork).
MODULES = (
    "megamsg.web.api",
    "megamsg.web.cli",
    "megamsg.web.db",
    "megamsg.web.errors",
    "megamsg.web.favicon",
    "megamsg.web.health",
    "megamsg.web.security_headers",
    "megamsg.web.timefmt",
    "megamsg.web.csrf",
    "megamsg.web.dashboard.account",
    "megamsg.web.dashboard.api_keys",
    "megamsg.web.dashboard.delivery_control",
    "megamsg.web.dashboard.instance_actions",
    "megamsg.web.dashboard.live",
    "megamsg.web.dashboard.messages",
    "megamsg.web.dashboard.pages",
    "megamsg.web.dashboard.session",
    "megamsg.web.dashboard.users",
    "megamsg.web.dashboard.webhooks",
    "megamsg.web.docs.guide",
    "megamsg.web.docs.reference",
    "megamsg.web.docs.sandbox",
    "megamsg.web.metrics_route",
    "megamsg.web.maintenance",
    "megamsg.web.backup_cli",
)


def import_web_modules() -> None:
    """Import the web's modules and freeze them out of the collector's reach (fewer copied pages)."""
    for name in MODULES:
        importlib.import_module(name)
    # A collection in a worker would write to every tracked object's header, copying shared pages.
    gc.freeze()
