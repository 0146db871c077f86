"""Backups and restores of one data directory (the whole stack under load: test_backup_drill.py)."""

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import redis

from megamsg import keys
from megamsg.ops.restore import restore_backup
from megamsg.ops.schedule import BackupSchedule, archives
from megamsg.redis_conn import embedded_url, stop_embedded
from megamsg.store import message_log
from megamsg.store.db import connect
from megamsg.store.schema import LATEST, schema_version
from megamsg.web import create_app
from tests.backup_support import rewrite, table_digest
from tests.conftest import auth_headers, wait_for

MEDIA = b"\x89PNG\r\n\x1a\n" + os.urandom(2048)
TABLES = ("users", "instances", "messages", "message_status", "webhook_events", "webhook_deliveries")


@pytest.fixture
def populated(app, make_instance, redis_url):
    """A data directory with an instance, messages, incoming media, a session store, a key file and Redis keys."""
    data = Path(app.config["DATA_DIR"])
    instance, token = make_instance()
    db = connect(app.config["DATABASE"])
    message_log.create_outgoing(db, instance["id"], {"peer": "+201000000009", "type": "text", "text": "out"})
    row, _ = message_log.record_incoming(
        db,
        instance["id"],
        {"wa_id": "WA1", "peer": "+201000000008", "type": "image", "mime_type": "image/png"},
    )
    media = data / "media" / instance["id"] / row["id"]
    media.parent.mkdir(parents=True)
    media.write_bytes(MEDIA)
    message_log.set_media_path(db, row["id"], str(media))
    db.conn.commit()
    db.conn.close()
    (data / "sessions").mkdir()
    session = sqlite3.connect(data / "sessions" / f"{instance['id']}.sqlite")
    session.execute("CREATE TABLE whatsmeow_device (jid TEXT, noise_key BLOB)")
    session.execute("INSERT INTO whatsmeow_device VALUES ('201000000001@s.whatsapp.net', x'0102')")
    session.commit()
    session.close()
    (data / "secret_key").write_text("a-secret-key-from-the-file\n")
    client = redis.Redis.from_url(redis_url)
    client.hset(keys.simulator(instance["id"], "session"), mapping={"phone": "+201000000001"})
    client.set(keys.simulator(instance["id"], "ttl"), "x", ex=3600)
    client.set(keys.lease(instance["id"]), "someone", ex=60)
    client.close()
    return {"instance": instance, "token": token, "media_id": row["id"]}


def run_cli(app, *args):
    return app.test_cli_runner().invoke(args=["megamsg", *args])


def test_backup_writes_one_private_archive_with_a_manifest_of_every_member(app, populated, tmp_path):
    archive = tmp_path / "backups" / "one.tar.gz"
    done = run_cli(app, "backup", str(archive))
    assert done.exit_code == 0, done.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
        assert names[0] == "manifest.json"
        for name in names[1:]:
            data = tar.extractfile(name).read()
            assert manifest["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    instance_id = populated["instance"]["id"]
    assert (
        set(manifest["files"])
        == set(names[1:])
        == {
            "megamsg.db",
            "redis-keys.jsonl",
            "secret_key",
            "settings.json",
            f"sessions/{instance_id}.sqlite",
            f"media/{instance_id}/{populated['media_id']}",
        }
    )
    assert manifest["schema_version"] == LATEST and manifest["megamsg_version"]
    assert manifest["counts"]["tables"]["messages"] == 2 and manifest["counts"]["tables"]["instances"] == 1
    assert manifest["redis"]["keys"] == 2  # the lease is left out
    assert "test-secret-key" not in json.dumps(
        manifest
    ) and "test-secret-key" not in archive.read_bytes().decode("latin-1")
    assert not [p for p in archive.parent.iterdir() if p != archive]  # no staging or partial file left


def test_restore_gives_back_the_same_data_and_a_working_app(app, populated, tmp_path, config_overrides):
    archive = tmp_path / "b.tar.gz"
    assert run_cli(app, "backup", str(archive)).exit_code == 0
    target = tmp_path / "restored"

    restore_backup(str(archive), str(target), None)  # Redis: the restored directory's embedded one

    for table in TABLES:
        assert table_digest(str(target / "megamsg.db"), table) == table_digest(app.config["DATABASE"], table)
    instance_id = populated["instance"]["id"]
    assert (target / "secret_key").read_text() == "a-secret-key-from-the-file\n"
    session = sqlite3.connect(target / "sessions" / f"{instance_id}.sqlite")
    assert session.execute("SELECT jid, noise_key FROM whatsmeow_device").fetchall() == [
        ("201000000001@s.whatsapp.net", b"\x01\x02")
    ]
    session.close()
    url = embedded_url(str(target))
    try:
        client = redis.Redis.from_url(url)
        assert client.hgetall(keys.simulator(instance_id, "session")) == {b"phone": b"+201000000001"}
        assert 3500 < client.ttl(keys.simulator(instance_id, "ttl")) <= 3600
        assert not client.exists(keys.lease(instance_id))
        client.close()
        restored = create_app({**config_overrides, "DATA_DIR": str(target), "REDIS_URL": url})
        headers = auth_headers(instance_id, populated["token"])
        web = restored.test_client()
        listed = web.get("/api/whatsapp/messages", headers=headers)
        assert listed.status_code == 200 and len(listed.get_json()["messages"]) == 2
        media = web.get(f"/api/whatsapp/media/{populated['media_id']}", headers=headers)
        assert media.status_code == 200 and media.data == MEDIA
    finally:
        stop_embedded(str(target), force=True)


def _truncate(archive: Path, out: Path) -> None:
    out.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])


def _newer_schema(archive: Path, out: Path) -> None:
    def change(name, data, manifest):
        manifest["schema_version"] = LATEST + 1
        return data

    rewrite(archive, out, change)


def _tampered_member(archive: Path, out: Path) -> None:
    rewrite(archive, out, lambda name, data, manifest: data + b"!" if name.startswith("media/") else data)


def _missing_member(archive: Path, out: Path) -> None:
    rewrite(archive, out, lambda name, data, manifest: None if name == "secret_key" else data)


def _not_a_backup(archive: Path, out: Path) -> None:
    with tarfile.open(out, "w:gz") as tar:
        tar.add(__file__, arcname="notes.txt")


REFUSED = [
    ("truncated", _truncate, "is damaged or truncated"),
    ("newer schema", _newer_schema, f"schema version {LATEST + 1} (MegaMsg"),
    ("tampered member", _tampered_member, "does not match its checksum"),
    ("missing member", _missing_member, "1 file(s) missing, e.g. secret_key"),
    ("not a backup", _not_a_backup, "is not a MegaMsg backup"),
]


@pytest.mark.parametrize("case,damage,message", REFUSED, ids=[c[0] for c in REFUSED])
def test_restore_refuses_a_damaged_or_newer_archive_and_writes_nothing(
    app, populated, tmp_path, case, damage, message
):
    good = tmp_path / "good.tar.gz"
    assert run_cli(app, "backup", str(good)).exit_code == 0
    bad = tmp_path / "bad.tar.gz"
    damage(good, bad)
    place = tmp_path / "place"
    place.mkdir()
    target = place / "restored"

    done = run_cli(app, "restore", str(bad), "--data-dir", str(target))

    assert done.exit_code == 1
    assert message in done.output and "nothing was restored" in done.output.lower()
    assert list(place.iterdir()) == []  # neither the directory nor a staging copy


def test_restore_refuses_a_data_directory_that_is_not_empty(app, populated, tmp_path):
    archive = tmp_path / "b.tar.gz"
    assert run_cli(app, "backup", str(archive)).exit_code == 0
    target = tmp_path / "busy"
    target.mkdir()
    (target / "megamsg.db").write_bytes(b"precious")

    done = run_cli(app, "restore", str(archive), "--data-dir", str(target))

    assert done.exit_code == 1 and "is not empty" in done.output
    assert [p.name for p in target.iterdir()] == ["megamsg.db"] and (
        target / "megamsg.db"
    ).read_bytes() == b"precious"


def test_restore_refuses_an_external_redis_that_holds_megamsg_keys(app, populated, tmp_path):
    # The test Redis (REDIS_URL) still holds the instance's simulator keys.
    archive = tmp_path / "b.tar.gz"
    assert run_cli(app, "backup", str(archive)).exit_code == 0
    done = run_cli(app, "restore", str(archive), "--data-dir", str(tmp_path / "restored"))
    assert done.exit_code == 1 and "already holds MegaMsg keys" in done.output
    assert not (tmp_path / "restored").exists()
    skipped = run_cli(app, "restore", str(archive), "--data-dir", str(tmp_path / "restored"), "--skip-redis")
    assert skipped.exit_code == 0, skipped.output
    assert (tmp_path / "restored" / "megamsg.db").exists()


def test_the_supervisor_writes_scheduled_backups_and_keeps_the_newest(app, populated, supervisors, tmp_path):
    directory = tmp_path / "scheduled"
    supervisors.start(
        MEGAMSG_BACKUP_DIR=str(directory), MEGAMSG_BACKUP_EVERY_HOURS="0.0004", MEGAMSG_BACKUP_KEEP="2"
    )
    seen: set[str] = set()

    def three_written() -> bool:
        if directory.exists():
            current = [p.name for p in archives(directory)]
            assert len(current) <= 3  # the oldest is deleted only once a new one is written
            seen.update(current)
        return len(seen) >= 3

    wait_for(three_written, 30, what="three scheduled backups")
    kept = wait_for(
        lambda: len(archives(directory)) <= 2 and archives(directory), 10, what="the oldest pruned"
    )
    every = sorted(seen | {p.name for p in kept})
    assert [p.name for p in kept] == every[-len(kept) :]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in kept)


def test_backups_are_off_unless_a_directory_is_set(app):
    schedule = BackupSchedule(dict(app.config))
    schedule.tick()
    assert schedule.directory is None and schedule.thread is None


def test_a_backup_before_an_upgrade_keeps_the_old_schema_and_restores_into_a_stack_that_migrates_it(
    config_overrides, monkeypatch, tmp_path
):
    from tests.processes import REPO, child_env
    from tests.test_upgrades import EARLIER, build_at

    database = os.path.join(config_overrides["DATA_DIR"], "megamsg.db")
    build_at(database, EARLIER[0], monkeypatch)
    archive = tmp_path / "before-upgrade.tar.gz"
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    done = subprocess.run(
        [flask, "--app", "app", "megamsg", "backup", str(archive)],
        cwd=REPO,
        env=child_env(config_overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"schema version {EARLIER[0]}" in done.stdout
    assert sorted(os.listdir(config_overrides["DATA_DIR"])) == [
        "megamsg.db"
    ]  # nothing migrated, no key written
    target = tmp_path / "restored"
    manifest = restore_backup(str(archive), str(target), None, skip_redis=True)
    assert manifest["schema_version"] == EARLIER[0]
    create_app({**config_overrides, "DATA_DIR": str(target)})
    db = connect(str(target / "megamsg.db"))
    assert schema_version(db) == LATEST
    db.conn.close()
