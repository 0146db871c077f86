"""MegaMsg: a self-hosted WhatsApp gateway.

Subpackages by kind of process: `web` (gunicorn), `runtime` (supervisor, session runners,
queue workers), `delivery` (events and webhook jobs), `store` (SQLite). The modules at this
level (config, errors, keys, Redis, phone numbers, network guard, media) are shared by all and
import none of the subpackages.
"""

__version__ = "0.1.0"
