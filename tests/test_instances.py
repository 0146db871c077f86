"""Instances from the dashboard and the CLI; tokens only ever stored hashed."""

import json
import re

import pytest

from megamsg.store.instances import hash_token
from tests.conftest import auth_headers, csrf_from, login


def create_via_dashboard(client, name: str) -> tuple[str, str]:
    token = csrf_from(client.get("/instances").get_data(as_text=True))
    created = client.post("/instances", data={"name": name, "csrf_token": token})
    assert created.status_code == 303  # then a GET page shows the token once
    response = client.get(created.headers["Location"])
    assert response.headers["Cache-Control"] == "no-store"  # the token must not linger in a cache
    page = response.get_data(as_text=True)
    instance_id = re.search(r'id="instance-id">([^<]+)<', page).group(1)
    api_token = re.search(r'id="token">([^<]+)<', page).group(1)
    return instance_id, api_token


def test_dashboard_create_shows_token_once_and_stores_only_hash(client, make_user, db):
    make_user("owner@example.com")
    login(client, "owner@example.com")
    instance_id, token = create_via_dashboard(client, "Support")
    assert len(token) == 64
    row = db["instances"].get(instance_id)
    assert row["token_hash"] == hash_token(token)
    dump = "\n".join(db.iterdump())
    assert token not in dump
    listing = client.get("/instances").get_data(as_text=True)
    assert instance_id in listing and "Not running — the worker is not serving it" in listing
    assert token not in client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert client.get("/api/whatsapp/instance", headers=auth_headers(instance_id, token)).status_code == 200


def test_dashboard_rotate_invalidates_old_token(client, make_user, db):
    make_user("owner@example.com")
    login(client, "owner@example.com")
    instance_id, old = create_via_dashboard(client, "Support")
    csrf = csrf_from(client.get(f"/instances/{instance_id}").get_data(as_text=True))
    rotated = client.post(
        f"/instances/{instance_id}/rotate",
        data={"csrf_token": csrf, "confirmed": "yes"},
        follow_redirects=True,
    )
    assert rotated.headers["Cache-Control"] == "no-store"
    page = rotated.get_data(as_text=True)
    new = re.search(r'id="token">([^<]+)<', page).group(1)
    assert new != old
    assert client.get("/api/whatsapp/instance", headers=auth_headers(instance_id, old)).status_code == 401
    assert client.get("/api/whatsapp/instance", headers=auth_headers(instance_id, new)).status_code == 200


def test_dashboard_delete_needs_confirmation(client, make_user, db):
    make_user("owner@example.com")
    login(client, "owner@example.com")
    instance_id, _ = create_via_dashboard(client, "Support")
    csrf = csrf_from(client.get(f"/instances/{instance_id}/delete").get_data(as_text=True))
    wrong = client.post(f"/instances/{instance_id}/delete", data={"csrf_token": csrf, "confirm_name": "nope"})
    assert wrong.status_code == 422
    assert db["instances"].count == 1
    ok = client.post(f"/instances/{instance_id}/delete", data={"csrf_token": csrf, "confirm_name": "Support"})
    assert ok.status_code == 302
    assert db["instances"].count == 0


def test_users_see_only_their_instances_and_get_404_for_others(client, make_instance, make_user, db):
    theirs, _ = make_instance("Theirs", owner_email="other@example.com")
    make_user("owner@example.com")
    login(client, "owner@example.com")
    assert theirs["id"] not in client.get("/instances").get_data(as_text=True)
    csrf = csrf_from(client.get("/instances").get_data(as_text=True))
    for method, path in [
        ("get", f"/instances/{theirs['id']}"),
        ("get", f"/instances/{theirs['id']}/delete"),
        ("post", f"/instances/{theirs['id']}/rotate"),
        ("post", f"/instances/{theirs['id']}/delete"),
    ]:
        response = getattr(client, method)(path, data={"csrf_token": csrf, "confirm_name": "Theirs"})
        assert response.status_code == 404, path
    assert db["instances"].get(theirs["id"])["token_hash"]  # untouched


def test_admin_sees_every_instance(client, make_instance, make_user):
    theirs, _ = make_instance("Theirs", owner_email="other@example.com")
    make_user("admin@example.com", is_admin=True)
    login(client, "admin@example.com")
    assert theirs["id"] in client.get("/instances").get_data(as_text=True)
    assert client.get(f"/instances/{theirs['id']}").status_code == 200


def test_cli_create_list_rotate_delete(app, make_user, db):
    make_user("owner@example.com")
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["megamsg", "instance", "create", "--name", "Bot", "--owner", "owner@example.com", "--json"]
    )
    assert created.exit_code == 0, created.output
    data = json.loads(created.output)
    assert set(data) == {"instance_id", "token"} and len(data["token"]) == 64
    assert db["instances"].get(data["instance_id"])["token_hash"] == hash_token(data["token"])

    listed = runner.invoke(args=["megamsg", "instance", "list"])
    assert data["instance_id"] in listed.output and data["token"] not in listed.output

    rotated = runner.invoke(args=["megamsg", "instance", "rotate-token", data["instance_id"]])
    new_token = rotated.output.split("Token:")[1].strip()
    assert db["instances"].get(data["instance_id"])["token_hash"] == hash_token(new_token)

    deleted = runner.invoke(args=["megamsg", "instance", "delete", data["instance_id"], "--yes"])
    assert deleted.exit_code == 0
    assert db["instances"].count == 0


def test_cli_errors_are_clear(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["megamsg", "instance", "create", "--name", "Bot", "--owner", "ghost@example.com"]
    )
    assert result.exit_code != 0
    assert "No user with email ghost@example.com" in result.output
    missing = runner.invoke(args=["megamsg", "instance", "rotate-token", "inst_nope"])
    assert missing.exit_code != 0 and "No instance inst_nope" in missing.output


def test_cli_create_user(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["megamsg", "create-user", "boss@example.com", "--admin", "--password", "long enough pw"]
    )
    assert result.exit_code == 0, result.output
    assert db.execute("SELECT email, is_admin FROM users").fetchall() == [("boss@example.com", 1)]
    again = runner.invoke(args=["megamsg", "create-user", "boss@example.com", "--password", "long enough pw"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_cli_set_webhook(app, make_instance, db):
    instance, _ = make_instance()
    runner = app.test_cli_runner()
    ok = runner.invoke(
        args=["megamsg", "instance", "set-webhook", instance["id"], "https://example.com/hook"]
    )
    assert ok.exit_code == 0 and "https://example.com/hook" in ok.output
    assert db["instances"].get(instance["id"])["webhook_url"] == "https://example.com/hook"
    bad = runner.invoke(args=["megamsg", "instance", "set-webhook", instance["id"], "ftp://example.com"])
    assert bad.exit_code != 0 and "http" in bad.output
    private = runner.invoke(args=["megamsg", "instance", "set-webhook", instance["id"], "http://127.0.0.1/x"])
    assert private.exit_code != 0 and "url is refused: it resolves to a private address" in private.output
    assert db["instances"].get(instance["id"])["webhook_url"] == "https://example.com/hook"
    cleared = runner.invoke(args=["megamsg", "instance", "set-webhook", instance["id"], "none"])
    assert cleared.exit_code == 0
    assert db["instances"].get(instance["id"])["webhook_url"] is None


@pytest.mark.parametrize("driver", ["simulator", "neonize"])
def test_cli_doctor_passes_on_a_complete_machine(config_overrides, driver):
    from megamsg.redis_conn import describe
    from megamsg.web import create_app

    # `make test` installs ffmpeg and libmagic1 first, so every check must pass here.
    app = create_app({**config_overrides, "WHATSAPP_DRIVER": driver})
    result = app.test_cli_runner().invoke(args=["megamsg", "doctor"])
    assert result.exit_code == 0, result.output
    assert f"[ok  ] redis: {describe(app.config)}" in result.output
    assert f"[ok  ] sqlite: {app.config['DATABASE']} (" in result.output
    for check in ("ffmpeg", "ffprobe", "neonize"):
        assert f"[ok  ] {check}:" in result.output
    assert f"[ok  ] driver: {driver}" in result.output
    assert result.output.rstrip().endswith("All checks passed.")


def test_cli_doctor_fails_on_an_unknown_driver(config_overrides):
    from megamsg.web import create_app

    app = create_app({**config_overrides, "WHATSAPP_DRIVER": "carrier-pigeon"})
    result = app.test_cli_runner().invoke(args=["megamsg", "doctor"])
    assert result.exit_code == 1
    assert "[FAIL] driver: 'carrier-pigeon' is not one of neonize, simulator" in result.output


def test_cli_doctor_fails_when_redis_is_down(config_overrides):
    from megamsg.web import create_app

    broken = create_app({**config_overrides, "REDIS_URL": "redis://127.0.0.1:1/0"})
    result = broken.test_cli_runner().invoke(args=["megamsg", "doctor"])
    assert result.exit_code == 1
    assert "[FAIL] redis:" in result.output and "check(s) failed" in result.output


def test_delete_is_all_or_nothing(make_instance, db):
    import sqlite3

    from megamsg.store.instances import delete_instance
    from megamsg.store.message_log import create_outgoing

    instance, _ = make_instance()
    create_outgoing(db, instance["id"], {"peer": "+201234567890", "type": "text", "text": "hi"})
    # The last statement fails: nothing before it may stay deleted.
    db.execute("CREATE TRIGGER refuse BEFORE DELETE ON instances BEGIN SELECT RAISE(ABORT, 'refused'); END")
    with pytest.raises(sqlite3.IntegrityError):
        delete_instance(db, instance["id"])
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM instances").fetchone()[0] == 1
