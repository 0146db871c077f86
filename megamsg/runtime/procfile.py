"""`python -m megamsg.runtime.procfile start …`: honcho, with time for the processes' graceful stops."""

import sys

import honcho.manager
from honcho.command import main

from megamsg.runtime.parent_watch import stop_when_orphaned

# honcho SIGKILLs whatever is left 5 s after asking it to stop; gunicorn needs up to its
# graceful_timeout (45 s) to finish sends in flight and the supervisor up to 10 s.
honcho.manager.KILL_WAIT = 50

if __name__ == "__main__":
    # A launcher killed with -9 cannot stop its stack: honcho then stops it gracefully by itself,
    # and releases the data directory's lock it shares with the launcher once everything is down.
    stop_when_orphaned()
    sys.exit(main(sys.argv[1:]))
