"""Worker entry point: `python worker.py` starts the supervisor."""

from megamsg.supervisor import main

if __name__ == "__main__":
    main()
