"""The worker side (`python worker.py`, `make run`): supervisor, session runners, queue workers, drivers.

Runners (runner, runner_sink, session_jobs, lease, drivers) talk to the rest only through Redis:
they import the shared modules only, never Flask, `web`, `store` or `delivery`.
"""
