"""`python -m megamsg.runtime.procfile start …`: honcho, with time for the processes' graceful stops."""

import sys

import honcho.manager
from honcho.command import main

# honcho SIGKILLs whatever is left 5 s after asking it to stop; gunicorn needs up to its
# graceful_timeout (45 s) to finish sends in flight and the supervisor up to 10 s.
honcho.manager.KILL_WAIT = 50

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
