"""An RQ worker (with scheduler): `python -m megamsg.runtime.queue_worker [QUEUE ...]` (default: events and webhooks:*)."""

import logging
import sys

from megamsg import keys
from megamsg.config import process_config
from megamsg.queues import MegamsgJob
from megamsg.redis_conn import get_redis
from megamsg.runtime.abandoned_jobs import STRANDED_GRACE_SECONDS, release_abandoned_jobs, requeue_stranded
from megamsg.runtime.lean_worker import LeanWorker
from megamsg.runtime.parent_watch import stop_when_orphaned
from megamsg.runtime.scheduler_locks import MAINTENANCE_INTERVAL_SECONDS, release_stale_locks


def main() -> int:
    """Work until SIGTERM/SIGINT (warm shutdown: the current job finishes)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = process_config()
    stop_when_orphaned()
    # SimpleWorker (as LeanWorker): jobs are short SQLite/HTTP work; no fork per job keeps latency low.
    names = sys.argv[1:] or [keys.EVENTS_QUEUE, *keys.webhook_queues(config)]
    connection = get_redis(config)
    release_stale_locks(connection, names)
    release_abandoned_jobs(connection, names, MegamsgJob)
    for name in names:  # other workers, on other machines too, may serve these queues: with a grace
        requeue_stranded(connection, name, MegamsgJob, grace=STRANDED_GRACE_SECONDS)
    worker = LeanWorker(
        names, connection=connection, job_class=MegamsgJob, maintenance_interval=MAINTENANCE_INTERVAL_SECONDS
    )
    worker.work(with_scheduler=True, logging_level="WARNING")
    return 0


if __name__ == "__main__":
    sys.exit(main())
