"""`flask --app app megamsg …` commands."""

import json
import shutil
import sys

import click
import sqlite_utils
from flask import Flask, current_app
from flask.cli import AppGroup

from megamsg.config import DRIVERS
from megamsg.instance_registry import register
from megamsg.pacing import MAX_INTERVAL_MS, MAX_JITTER_MS, pacing_of
from megamsg.redis_conn import describe, get_redis
from megamsg.session_state import mark_deleted
from megamsg.store import accounts, instances
from megamsg.store.db import connect, migrate
from megamsg.store.schema import SchemaTooNew
from megamsg.web.dashboard import throttle

megamsg_cli = AppGroup("megamsg", help="MegaMsg administration.")
instance_cli = AppGroup("instance", help="Manage instances.")
megamsg_cli.add_command(instance_cli)
user_cli = AppGroup("user", help="Manage dashboard users.")
megamsg_cli.add_command(user_cli)


def _db() -> sqlite_utils.Database:
    return connect(current_app.config["DATABASE"])


@megamsg_cli.command("migrate")
@click.option("--check", is_flag=True, help="Only tell whether migrations are pending (exit 1 if so).")
def migrate_command(check: bool) -> None:
    """Apply pending database migrations (or, with --check, only report them)."""
    if check:
        from megamsg.web.migrate_check import check_migrations

        check_migrations(current_app.config["DATABASE"])
        return
    try:
        applied = migrate(current_app.config["DATABASE"])
    except SchemaTooNew as exc:
        raise click.ClickException(str(exc)) from exc
    if applied:
        click.echo(f"Applied migrations: {', '.join(map(str, applied))}")
    else:
        click.echo("Database is up to date.")


@megamsg_cli.command("create-user")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Give the user access to every instance.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_command(email: str, admin: bool, password: str) -> None:
    """Create a dashboard user."""
    try:
        user = accounts.create_user(_db(), email, password, is_admin=admin)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {'admin ' if admin else ''}user {user['email']}.")


@megamsg_cli.command("unlock")
@click.argument("email")
def unlock_command(email: str) -> None:
    """Clear an account's failed logins and its lock, if it has one."""
    email = accounts.normalise_email(email)
    failures, locked_for = throttle.forget(current_app.config, "login", throttle.ACCOUNT, email)
    if locked_for:
        click.echo(f"Unlocked {email} (it was locked for another {throttle.wait_text(locked_for)}).")
    elif failures:
        click.echo(
            f"{email} was not locked ({failures} failed attempt{'' if failures == 1 else 's'} forgotten)."
        )
    elif accounts.user_by_email(_db(), email) is None:
        click.echo(f"{email} was not locked (and no user has that email).")
    else:
        click.echo(f"{email} was not locked.")


def _user(db: sqlite_utils.Database, email: str) -> dict:
    user = accounts.user_by_email(db, email)
    if user is None:
        raise click.ClickException(f"No user with email {accounts.normalise_email(email)}.")
    return user


@user_cli.command("list")
def user_list_command() -> None:
    """List every user (role, status, last login)."""
    for user in accounts.list_users(_db(), ""):
        role = "admin" if user["is_admin"] else "user"
        status = f"disabled since {user['disabled_at']}" if user["disabled_at"] else "active"
        click.echo(f"{user['email']}  {role}  {status}  last login={user['last_login_at'] or 'never'}")


@user_cli.command("disable")
@click.argument("email")
def user_disable_command(email: str) -> None:
    """Stop a user from logging in and end their sessions (their instances keep running)."""
    db = _db()
    user = _user(db, email)
    try:
        ended = accounts.disable_user(db, user["id"], actor_id=None)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Disabled {user['email']} ({ended} session{'' if ended == 1 else 's'} ended).")


@user_cli.command("enable")
@click.argument("email")
def user_enable_command(email: str) -> None:
    """Let a disabled user log in again."""
    db = _db()
    user = _user(db, email)
    try:
        accounts.enable_user(db, user["id"])
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Enabled {user['email']}.")


@user_cli.command("reset-password")
@click.argument("email")
def user_reset_password_command(email: str) -> None:
    """Give a user a new generated password (printed once) and end their sessions."""
    db = _db()
    user = _user(db, email)
    password, ended = accounts.reset_password(db, user["id"])
    throttle.forget(current_app.config, "login", throttle.ACCOUNT, user["email"])
    click.echo(f"Password: {password}")
    click.echo(
        f"Store it now: it is not shown again. {ended} session{'' if ended == 1 else 's'} of "
        f"{user['email']} ended."
    )


@instance_cli.command("create")
@click.option("--name", required=True)
@click.option("--owner", "owner_email", required=True, help="Email of the owning user.")
@click.option("--json", "as_json", is_flag=True, help="Print {instance_id, token} as JSON.")
def instance_create_command(name: str, owner_email: str, as_json: bool) -> None:
    """Create an instance and print its id and token (shown only once)."""
    db = _db()
    owner = accounts.user_by_email(db, owner_email)
    if owner is None:
        raise click.ClickException(f"No user with email {owner_email}. Create it with create-user first.")
    try:
        row, token = instances.create_instance(db, owner["id"], name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    register(current_app.config, row["id"])
    if as_json:
        click.echo(json.dumps({"instance_id": row["id"], "token": token}))
    else:
        click.echo(f"Instance id: {row['id']}")
        click.echo(f"Token:       {token}")
        click.echo("Store the token now: it is not shown again.")


@instance_cli.command("list")
@click.option("--json", "as_json", is_flag=True)
def instance_list_command(as_json: bool) -> None:
    """List every instance."""
    rows = instances.list_instances(_db())
    if as_json:
        keys = ("id", "name", "owner_email", "created_at", "webhook_url")
        click.echo(json.dumps([{key: row[key] for key in keys} for row in rows]))
        return
    if not rows:
        click.echo("No instances.")
    for row in rows:
        click.echo(f"{row['id']}  {row['name']!r}  owner={row['owner_email']}  created={row['created_at']}")


def _existing(db: sqlite_utils.Database, instance_id: str) -> dict:
    instance = instances.get_instance(db, instance_id)
    if instance is None:
        raise click.ClickException(f"No instance {instance_id}.")
    return instance


@instance_cli.command("rotate-token")
@click.argument("instance_id")
def instance_rotate_command(instance_id: str) -> None:
    """Issue a new token; the old one stops working."""
    db = _db()
    _existing(db, instance_id)
    click.echo(f"Token: {instances.rotate_token(db, instance_id)}")


@instance_cli.command("set-webhook")
@click.argument("instance_id")
@click.argument("url")
def instance_set_webhook_command(instance_id: str, url: str) -> None:
    """Set (or with "none", clear) the instance's webhook URL."""
    from megamsg.delivery.webhook_config import WebhookConfigError, check_destination, set_webhook_url

    db = _db()
    _existing(db, instance_id)
    chosen = None if url.lower() in ("none", "null", "") else url
    try:
        warning = check_destination(chosen, bool(current_app.config["ALLOW_PRIVATE_URLS"]))
        result = set_webhook_url(db, instance_id, chosen)
    except WebhookConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Webhook URL: {result['url'] or '(none)'}")
    if warning:
        click.echo(f"Warning: {warning}", err=True)


@instance_cli.command("set-pacing")
@click.argument("instance_id")
@click.option(
    "--min-interval-ms", type=click.IntRange(0, MAX_INTERVAL_MS), help="Least time between two sends."
)
@click.option(
    "--jitter-ms", type=click.IntRange(0, MAX_JITTER_MS), help="Random extra delay, up to this much."
)
@click.option("--default", "use_default", is_flag=True, help="Back to the server's defaults.")
def instance_set_pacing_command(
    instance_id: str, min_interval_ms: int | None, jitter_ms: int | None, use_default: bool
) -> None:
    """Set how far apart the instance's sends leave (milliseconds)."""
    db = _db()
    _existing(db, instance_id)
    if use_default:
        fields: dict[str, int | None] = {"min_interval_ms": None, "jitter_ms": None}
    else:
        fields = {
            name: value
            for name, value in (("min_interval_ms", min_interval_ms), ("jitter_ms", jitter_ms))
            if value is not None
        }
    if not fields:
        raise click.UsageError("Give --min-interval-ms, --jitter-ms or --default.")
    pacing = pacing_of(current_app.config, instances.set_pacing(db, instance_id, fields))
    click.echo(f"Pacing: min_interval_ms={pacing.min_interval_ms} jitter_ms={pacing.jitter_ms}")


@instance_cli.command("delete")
@click.argument("instance_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def instance_delete_command(instance_id: str, yes: bool) -> None:
    """Delete an instance and its data."""
    db = _db()
    instance = _existing(db, instance_id)
    if not yes:
        click.confirm(f"Delete instance {instance_id} ({instance['name']!r})?", abort=True)
    mark_deleted(current_app.config, instance_id)  # first: the runner must forget the session
    instances.delete_instance(db, instance_id)
    click.echo(f"Deleted {instance_id}.")


@megamsg_cli.command("doctor")
def doctor_command() -> None:
    """Check Redis, SQLite, ffmpeg and the WhatsApp library; exit non-zero on a failure."""
    config = current_app.config
    failures = 0

    def report(ok: bool, what: str, detail: str, fatal: bool = True) -> None:
        nonlocal failures
        mark = "ok  " if ok else ("FAIL" if fatal else "warn")
        click.echo(f"[{mark}] {what}: {detail}")
        if not ok and fatal:
            failures += 1

    try:
        get_redis(config, quick=True).ping()
        report(True, "redis", describe(config))
    except Exception as exc:  # noqa: BLE001
        report(False, "redis", f"{describe(config)} unreachable: {exc}")
    try:
        db = connect(config["DATABASE"])
        count = db.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
        report(True, "sqlite", f"{config['DATABASE']} ({count} migrations applied)")
    except Exception as exc:  # noqa: BLE001
        report(False, "sqlite", f"{config['DATABASE']}: {exc}")
    uses_neonize = config["WHATSAPP_DRIVER"] == "neonize"
    for tool in ("ffmpeg", "ffprobe"):
        path = shutil.which(tool)
        report(
            bool(path),
            tool,
            path or "not found: audio and video sends through neonize need it (apt-get install ffmpeg)",
            fatal=uses_neonize,
        )
    from megamsg.neonize_probe import probe_neonize

    ok, detail = probe_neonize()
    report(ok, "neonize", detail, fatal=uses_neonize)
    driver = config["WHATSAPP_DRIVER"]
    known = driver in DRIVERS
    report(known, "driver", driver if known else f"{driver!r} is not one of {', '.join(DRIVERS)}")
    if failures:
        click.echo(f"{failures} check(s) failed.")
        sys.exit(1)
    click.echo("All checks passed.")


def init_app(app: Flask) -> None:
    """Register the command group."""
    from megamsg.web.backup_cli import backup_command, restore_command

    megamsg_cli.add_command(backup_command)
    megamsg_cli.add_command(restore_command)
    app.cli.add_command(megamsg_cli)
