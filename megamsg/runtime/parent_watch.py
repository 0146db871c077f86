"""Children of the supervisor stop by themselves when it dies.

They run in their own sessions (so a terminal's Ctrl-C or a process manager's group signal reaches only
the supervisor, which then stops them once, gracefully); without this watch a killed
supervisor would leave them running and renewing their leases.
"""

import logging
import os
import signal
import threading
import time

log = logging.getLogger(__name__)


def stop_when_orphaned(interval: float = 0.5) -> threading.Thread:
    """Send this process SIGTERM (its graceful stop) once its parent has gone."""
    parent = os.getppid()

    def watch() -> None:
        while parent != 1 and os.getppid() == parent:
            time.sleep(interval)
        log.warning("parent process %d is gone; stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, daemon=True, name="parent-watch")
    thread.start()
    return thread
