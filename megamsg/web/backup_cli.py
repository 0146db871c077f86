"""`flask megamsg backup PATH` and `flask megamsg restore PATH`."""

import click
from flask import current_app
from flask.cli import with_appcontext

from megamsg.ops.backup import create_backup
from megamsg.ops.manifest import ArchiveError
from megamsg.ops.restore import restore_backup


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path: str) -> None:
    """Write a backup archive (tar.gz, mode 0600) of the data while the stack runs."""
    try:
        manifest = create_backup(dict(current_app.config), path)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    tables = manifest["counts"]["tables"]
    click.echo(f"Backup written to {path} (schema version {manifest['schema_version']}).")
    click.echo(
        f"  {tables.get('instances', 0)} instance(s), {tables.get('messages', 0)} message(s), "
        f"{manifest['counts']['session_stores']} session store(s), {manifest['counts']['media_files']} media "
        f"file(s), {manifest['redis']['keys']} Redis key(s); secret key {manifest['secret_key']}."
    )
    click.echo("It holds token hashes, webhook secrets and WhatsApp session keys: keep it private.")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--data-dir",
    help="Restore into this directory (absent or empty) instead of MEGAMSG_DATA_DIR.",
)
@click.option("--skip-redis", is_flag=True, help="Do not write the archive's Redis keys anywhere.")
@with_appcontext
def restore_command(path: str, data_dir: str | None, skip_redis: bool) -> None:
    """Restore a backup archive into an empty data directory (refusing damaged or newer archives)."""
    config = current_app.config
    target = data_dir or config["DATA_DIR"]
    try:
        manifest = restore_backup(path, target, config["REDIS_URL"], skip_redis=skip_redis)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"Restored {path} into {target} (MegaMsg {manifest['megamsg_version']}, schema version "
        f"{manifest['schema_version']}, taken {manifest['created_at']})."
    )
    if not manifest["secret_key"].startswith("included"):
        click.echo(
            "The secret key was not in the archive: set MEGAMSG_SECRET_KEY to the value the old server used."
        )
    click.echo("Start MegaMsg on it; pending migrations, if any, are applied at start.")
