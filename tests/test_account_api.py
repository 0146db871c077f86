"""Issue 17: the provisioning API with account API keys, through the real stack."""

import glob
import logging
import re
import subprocess
from pathlib import Path

import pytest
import redis
import requests

from megamsg import keys
from megamsg.store import api_keys
from megamsg.store.db import connect
from megamsg.store.migrations import MIGRATIONS, apply_migrations
from tests.account_support import key_headers, make_key
from tests.conftest import auth_headers, outbox, wait_for
from tests.docs_support import page_examples, run_request_example

INSTANCES = "/api/account/instances"
OWNER, OTHER, ADMIN = "owner@example.com", "other@example.com", "admin@example.com"
UNAUTHORIZED = {"ok": False, "message": "Unauthorized."}


def create(client, key: str, **body) -> dict:
    answer = client.post(INSTANCES, headers=key_headers(key), json={"name": "Shop", **body})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return answer.get_json()


def instance_count(db) -> int:
    return db.execute("SELECT count(*) FROM instances").fetchone()[0]


def test_create_list_get_rotate_delete(app, client, db):
    key = make_key(app)
    made = create(client, key, webhook_url="https://example.com/hook")
    assert re.fullmatch(r"[0-9a-f]{64}", made["token"])
    assert made["status"] == "starting" and made["webhook_url"] == "https://example.com/hook"
    instance_id = made["instance_id"]
    # The token works on the instance API at once.
    assert (
        client.get("/api/whatsapp/instance", headers=auth_headers(instance_id, made["token"])).status_code
        == 200
    )
    page = client.get(INSTANCES, headers=key_headers(key)).get_json()
    assert [row["instance_id"] for row in page["instances"]] == [instance_id] and page["next_before"] is None
    assert "token" not in page["instances"][0]
    one = client.get(f"{INSTANCES}/{instance_id}", headers=key_headers(key)).get_json()
    assert one["name"] == "Shop" and "token" not in one
    rotated = client.post(f"{INSTANCES}/{instance_id}/rotate-token", headers=key_headers(key))
    assert rotated.status_code == 200 and rotated.headers["Cache-Control"] == "no-store"
    new_token = rotated.get_json()["token"]
    assert (
        client.get("/api/whatsapp/instance", headers=auth_headers(instance_id, made["token"])).status_code
        == 401
    )
    assert (
        client.get("/api/whatsapp/instance", headers=auth_headers(instance_id, new_token)).status_code == 200
    )
    gone = client.delete(f"{INSTANCES}/{instance_id}", headers=key_headers(key))
    assert gone.get_json() == {"ok": True, "instance_id": instance_id}
    assert instance_count(db) == 0
    assert client.get(f"{INSTANCES}/{instance_id}", headers=key_headers(key)).status_code == 404
    assert (
        client.get("/api/whatsapp/instance", headers=auth_headers(instance_id, new_token)).status_code == 401
    )


def test_cursor_pages_cover_every_instance_once_newest_first(app, client):
    key = make_key(app)
    made = [create(client, key, name=f"n{n}")["instance_id"] for n in range(5)]
    seen, before = [], None
    while True:
        query = f"?limit=2&before={before}" if before else "?limit=2"
        page = client.get(INSTANCES + query, headers=key_headers(key)).get_json()
        assert len(page["instances"]) <= 2
        seen += [row["instance_id"] for row in page["instances"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == made[::-1]


@pytest.mark.parametrize(
    "body,says",
    [
        ({}, "name is required."),
        ({"name": "   "}, "name must not be empty."),
        ({"name": "x" * 101}, "name must be at most 100 characters."),
        ({"name": "Shop", "webhook_url": "ftp://example.com/"}, "webhook_url must be an absolute http"),
        ({"name": "Shop", "webhook_url": "http://127.0.0.1:9/hook"}, "webhook_url is refused"),
    ],
)
def test_bad_create_requests_name_the_field_and_change_nothing(app, client, db, body, says):
    answer = client.post(INSTANCES, headers=key_headers(make_key(app)), json=body)
    assert answer.status_code == 422
    assert answer.get_json()["ok"] is False and answer.get_json()["message"].startswith(says)
    assert instance_count(db) == 0


def other_users_instance(app, client) -> str:
    return create(client, make_key(app, OTHER, name="theirs"))["instance_id"]


@pytest.mark.parametrize(
    "method,suffix",
    [("get", ""), ("post", "/rotate-token"), ("delete", "")],
)
def test_another_users_instance_is_404_like_an_unknown_one(app, client, db, method, suffix):
    theirs = other_users_instance(app, client)
    key = make_key(app, OWNER)
    before = db.execute("SELECT token_hash FROM instances").fetchall()
    for instance_id in (theirs, "inst_unknown"):
        answer = client.open(f"{INSTANCES}/{instance_id}{suffix}", method=method, headers=key_headers(key))
        assert answer.status_code == 404
        assert answer.get_json() == {"ok": False, "message": "No instance with that id."}
    assert client.get(INSTANCES, headers=key_headers(key)).get_json()["instances"] == []
    assert db.execute("SELECT token_hash FROM instances").fetchall() == before


def test_an_admins_key_sees_and_manages_every_instance(app, client, db, make_user):
    theirs = other_users_instance(app, client)
    make_user(ADMIN, is_admin=True)
    key = make_key(app, ADMIN)
    listed = client.get(INSTANCES, headers=key_headers(key)).get_json()["instances"]
    assert [row["instance_id"] for row in listed] == [theirs]
    assert client.delete(f"{INSTANCES}/{theirs}", headers=key_headers(key)).status_code == 200
    assert instance_count(db) == 0


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("post", INSTANCES, {"name": "Shop"}),
        ("post", INSTANCES + "/{id}/rotate-token", None),
        ("delete", INSTANCES + "/{id}", None),
    ],
)
def test_a_read_only_key_cannot_create_rotate_or_delete(app, client, db, method, path, body):
    instance_id = create(client, make_key(app))["instance_id"]
    read_only = make_key(app, scopes=[api_keys.READ], name="read")
    before = db.execute("SELECT id, token_hash FROM instances").fetchall()
    answer = client.open(
        path.format(id=instance_id), method=method, json=body, headers=key_headers(read_only)
    )
    assert answer.status_code == 403
    assert answer.get_json() == {
        "ok": False,
        "message": "This API key does not have the instances:write scope.",
    }
    assert db.execute("SELECT id, token_hash FROM instances").fetchall() == before
    assert client.get(INSTANCES, headers=key_headers(read_only)).status_code == 200


def revoke(app, key: str) -> None:
    database = connect(app.config["DATABASE"])
    try:
        row = api_keys.active_key(database, key)
        assert api_keys.revoke_key(database, row["user_id"], row["id"])
    finally:
        database.conn.close()


def disable(app, email: str) -> None:
    database = connect(app.config["DATABASE"])
    try:
        database.execute(
            "UPDATE users SET disabled_at = '2026-01-01T00:00:00+00:00' WHERE email = ?", [email]
        )
    finally:
        database.conn.close()


@pytest.mark.parametrize(
    "spoil",
    [
        lambda app, key: revoke(app, key),
        lambda app, key: disable(app, OWNER),
    ],
    ids=["revoked", "user-disabled"],
)
def test_a_revoked_key_or_a_disabled_users_key_is_refused_at_once(app, client, spoil):
    key = make_key(app)
    assert client.get(INSTANCES, headers=key_headers(key)).status_code == 200
    spoil(app, key)
    for method, path in [("get", INSTANCES), ("post", INSTANCES), ("get", INSTANCES + "/x")]:
        answer = client.open(path, method=method, json={"name": "x"}, headers=key_headers(key))
        assert (answer.status_code, answer.get_json()) == (401, UNAUTHORIZED)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic mmk_abc"},
        {"Authorization": "Bearer mmk_" + "a" * 43},
        {"Authorization": "Bearer " + "a" * 64},
    ],
    ids=["none", "empty", "basic", "unknown-key", "instance-token-shape"],
)
def test_every_credential_failure_is_the_same_401(app, client, headers):
    answer = client.get(INSTANCES, headers=headers)
    assert (answer.status_code, answer.get_json()) == (401, UNAUTHORIZED)


def test_an_instance_token_opens_no_account_endpoint(client, make_instance):
    instance, token = make_instance()
    answer = client.get(INSTANCES, headers=auth_headers(instance["id"], token))
    assert (answer.status_code, answer.get_json()) == (401, UNAUTHORIZED)


def test_each_key_is_rate_limited(app, client):
    app.config["RATE_LIMIT_PER_MINUTE"] = 1
    key, other = make_key(app), make_key(app, name="other")
    # Three requests span at most one minute boundary, so two share a window.
    statuses = [client.get(INSTANCES, headers=key_headers(key)).status_code for _ in range(3)]
    assert 429 in statuses
    limited = client.get(INSTANCES, headers=key_headers(key))
    if limited.status_code == 429:
        assert (
            "for this API key" in limited.get_json()["message"] and int(limited.headers["Retry-After"]) >= 1
        )
    assert client.get(INSTANCES, headers=key_headers(other)).status_code == 200


def test_every_call_is_audited_with_who_what_and_from_where(app, client, db):
    key = make_key(app)
    instance_id = create(client, key)["instance_id"]
    client.get(f"{INSTANCES}/nope", headers=key_headers(key))
    client.delete(
        f"{INSTANCES}/{instance_id}", headers=key_headers(key), environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    client.get(
        INSTANCES, headers={"Authorization": "Bearer mmk_wrong-key-wrong-key-wrong"}
    )  # nobody's: not logged
    rows = db.execute(
        "SELECT action, method, instance_id, status, address, user_id FROM audit_log ORDER BY id"
    ).fetchall()
    assert rows == [
        ("instance.create", "POST", instance_id, 201, "127.0.0.1", 1),
        ("instance.get", "GET", "nope", 404, "127.0.0.1", 1),
        ("instance.delete", "DELETE", instance_id, 200, "203.0.113.9", 1),
    ]
    key_row = db.execute("SELECT last_used_at, last_used_address FROM api_keys").fetchone()
    assert key_row[0] and key_row[1] == "203.0.113.9"


def test_keys_are_never_stored_or_logged_in_clear(app, client, db, caplog):
    caplog.set_level(logging.DEBUG)
    key = make_key(app)
    instance_id = create(client, key)["instance_id"]
    client.get(INSTANCES, headers=key_headers(key))
    client.delete(f"{INSTANCES}/{instance_id}", headers=key_headers(key))
    assert key.startswith("mmk_")
    db.execute("PRAGMA wal_checkpoint(FULL)")
    stored = b"".join(Path(path).read_bytes() for path in glob.glob(app.config["DATABASE"] + "*"))
    assert key.encode() not in stored and key[4:].encode() not in stored
    assert api_keys.hash_token(key).encode() in stored  # the hash is what is kept (so the search is real)
    assert key not in caplog.text


def test_migration_8_adds_the_tables_to_an_existing_database(tmp_path):
    db = connect(str(tmp_path / "old.db"))
    db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
    older = [migration for migration in MIGRATIONS if migration[0] < 8]
    for version, name, migrate in older:
        migrate(db)
        db.execute("INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))", [version, name])
    db.execute("INSERT INTO users (email, password_hash, is_admin) VALUES ('old@example.com', 'x', 1)")
    assert apply_migrations(db) == sorted(m[0] for m in MIGRATIONS if m[0] >= 8)  # 8 and any later ones
    assert {"api_keys", "audit_log"} <= set(db.table_names())
    assert apply_migrations(db) == []


# --- the walkthrough of /docs, run as a reader would, against a live server with a real runner ---------


def walkthrough_steps(live_server: str) -> list[str]:
    html = requests.get(live_server + "/docs", timeout=30).text
    return [found["code"] for found in page_examples(html) if found["id"].startswith("walkthrough-")]


def fill(code: str, key: str, instance_id: str = "", token: str = "") -> str:
    return (
        code.replace("YOUR_ACCOUNT_KEY", key)
        .replace("INSTANCE_ID", instance_id)
        .replace("INSTANCE_TOKEN", token)
    )


def test_the_docs_walkthrough_works_end_to_end(tmp_path, app, client, live_server, supervisors):
    key = make_key(app)
    create_step, qr_step, scan_step, wait_step, send_step, delete_step = walkthrough_steps(live_server)
    supervisors.start()
    status, output = run_request_example("shell", fill(create_step, key), str(tmp_path))
    assert status == 201, output
    made = requests.models.complexjson.loads(output.rsplit("\nHTTP", 1)[0])
    instance_id, token = made["instance_id"], made["token"]
    headers = auth_headers(instance_id, token)

    def qr_shown() -> bool:
        return run_request_example("shell", fill(qr_step, key, instance_id, token), str(tmp_path))[0] == 200

    wait_for(qr_shown, 30, interval=0.3, what="the new instance's runner showing a QR code")
    status, output = run_request_example("shell", fill(scan_step, key, instance_id, token), str(tmp_path))
    assert status == 200, output
    # The loop ends only once the account API says connected (a deadline here, not in the reader's loop).
    waited = subprocess.run(["bash", "-c", fill(wait_step, key, instance_id, token)], timeout=30, check=False)
    assert waited.returncode == 0
    assert (
        client.get(f"{INSTANCES}/{instance_id}", headers=key_headers(key)).get_json()["status"] == "connected"
    )
    status, output = run_request_example("shell", fill(send_step, key, instance_id, token), str(tmp_path))
    assert status == 200, output
    assert [message["text"] for message in outbox(client, headers)] == ["Hello from MegaMsg!"]
    status, output = run_request_example("shell", fill(delete_step, key, instance_id, token), str(tmp_path))
    assert status == 200, output
    assert client.get("/api/whatsapp/instance", headers=headers).status_code == 401
    # As the dashboard's delete: the supervisor stops the runner, which lets go of its lease.
    redis_client = redis.Redis.from_url(app.config["REDIS_URL"])
    wait_for(lambda: not redis_client.exists(keys.lease(instance_id)), 20, what="the runner to stop")
    actions = [
        row[0] for row in connect(app.config["DATABASE"]).execute("SELECT action FROM audit_log ORDER BY id")
    ]
    assert actions[0] == "instance.create" and actions[-1] == "instance.delete"
