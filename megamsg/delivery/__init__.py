"""Background jobs of the events and webhook workers: store what runners report, deliver webhooks.

Also the supervisor's periodic repairs (sweeper, media retention). Imports `store` and the shared
modules; never `web` or `runtime`.
"""
