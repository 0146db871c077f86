"""gunicorn's master loads the app before forking its workers, so they share its pages (issue 12)."""

import gc
import importlib


def load_app_before_fork() -> None:
    """Import `app` (create_app runs here, once) and freeze it out of the collector's reach.

    Workers then find `app` already imported and use this very app object. What create_app
    opens is fork-safe: SQLite connections are reused only by the process that opened them
    (store.db.acquire checks the pid) and redis-py's pools reset themselves after a fork.
    """
    importlib.import_module("app")
    # A collection in a worker would write to every tracked object's header, copying shared pages.
    gc.freeze()
