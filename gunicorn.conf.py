"""gunicorn settings (read automatically by `gunicorn app:app`).

Threads, not processes, carry the load: a send waits up to MEGAMSG_SEND_TIMEOUT for the
WhatsApp session, and a waiting thread costs almost nothing, so one slow phone never blocks
other requests. Two processes keep the server up if one is being recycled.
"""

import os
from typing import Any

bind = os.environ.get("MEGAMSG_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# gthread, answering the malformed requests gunicorn rejects itself in the JSON error shape.
worker_class = "megamsg.gunicorn_worker.JsonErrorWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("MEGAMSG_WEB_THREADS", "32"))
timeout = 180  # the longest request: a 100 MB media download plus the send timeout
graceful_timeout = 45  # longer than a send may wait (MEGAMSG_SEND_TIMEOUT, 30 s), so restarts finish them
accesslog = "-"
# Never log query strings or headers that could carry credentials.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'


def on_starting(server: Any) -> None:
    """In the master, before any worker: a private data directory (umask 077), a clean metrics
    directory (if metrics are on); under `make run`'s launcher, a watch that stops gracefully if the
    launcher dies (kill -9 included); the app, loaded once for the workers to share (as
    `preload_app` would, but after metrics.prepare)."""
    from megamsg import metrics
    from megamsg.config import load_config
    from megamsg.data_permissions import make_private
    from megamsg.runtime.parent_watch import stop_when_orphaned

    config = load_config()
    make_private(config["DATA_DIR"])  # the workers inherit the umask
    metrics.prepare(config, "web")
    if config["STOP_WHEN_ORPHANED"]:
        stop_when_orphaned()
    from megamsg.web.preimport import load_app_before_fork

    load_app_before_fork()  # after metrics.prepare, whose directory the app's metrics write to


def child_exit(server: Any, worker: Any) -> None:
    """prometheus_client's multiprocess bookkeeping for a worker that exited."""
    from megamsg import metrics

    metrics.mark_dead(worker.pid)
