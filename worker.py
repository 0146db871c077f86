"""Worker entry point: `python worker.py` starts the supervisor."""

from megamsg.runtime.supervisor import main

if __name__ == "__main__":
    main()
