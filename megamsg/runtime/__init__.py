"""The worker side (`python worker.py`, `make run`): supervisor, session runners, queue workers, drivers.

Runners (runner, session_host, session_worker, runner_sink, session_jobs, lease, lease_keeper,
drivers) talk to the rest only through Redis: they import the shared modules only, never Flask,
`web`, `store` or `delivery`.
"""
