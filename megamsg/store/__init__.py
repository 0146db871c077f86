"""SQLite through sqlite-utils: connections, migrations and one module per table family.

No Flask and no Redis here; every process that owns data (web, events worker, CLI) imports it.
"""
