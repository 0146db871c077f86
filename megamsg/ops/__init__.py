"""Operating MegaMsg for years: backups, restores and their schedule.

Used by the web's command line and by the worker supervisor; imports store and the shared modules.
"""
