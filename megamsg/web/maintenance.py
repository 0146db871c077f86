"""Maintenance commands: `flask megamsg migrate --check`, `backup` and `restore` leave the data as found."""

# `flask --app app` builds the whole app (app.py) before it runs any command, and building it
# normally migrates the database, writes a secret key and a setup code. A check must not apply the
# migrations it reports, a backup taken before an upgrade must hold the old schema, and a restore
# needs its data directory untouched: for these commands the app is built without those steps.

from collections.abc import Sequence
from pathlib import Path

COMMANDS = ("backup", "restore")


def is_maintenance_command(argv: Sequence[str]) -> bool:
    """Whether argv is the flask CLI running one of the maintenance commands."""
    program = Path(argv[0]) if argv else Path()
    if program.name != "flask" and program.parts[-2:] != ("flask", "__main__.py"):
        return False
    args = list(argv[1:])
    if "megamsg" not in args:
        return False
    rest = args[args.index("megamsg") + 1 :]
    if not rest:
        return False
    return rest[0] in COMMANDS or (rest[0] == "migrate" and "--check" in rest[1:])
