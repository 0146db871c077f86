"""Post/redirect/get in the dashboard: reloading a result never repeats the action (issue 10, bug 1)."""

import re

import redis

from tests.conftest import auth_headers, csrf_from, login

SHOWN_ONCE = "was shown once"


def token_on(html: str) -> str | None:
    match = re.search(r'id="token">([^<]+)<', html)
    return match.group(1) if match else None


def logged_in_owner(client, make_user) -> None:
    make_user("owner@example.com")
    assert login(client, "owner@example.com").status_code in (302, 303)


def create(client, name: str):
    csrf = csrf_from(client.get("/instances").get_data(as_text=True))
    return client.post("/instances", data={"name": name, "csrf_token": csrf})


def test_create_redirects_to_a_get_page_that_shows_the_token_once(client, make_user, db, redis_url):
    logged_in_owner(client, make_user)
    created = create(client, "Support")
    assert created.status_code == 303
    [instance_id] = [row["id"] for row in db["instances"].rows]
    location = created.headers["Location"]
    assert location == f"/instances/{instance_id}/token"

    shown = client.get(location)
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    token = token_on(shown.get_data(as_text=True))
    assert token and len(token) == 64
    assert client.get("/api/whatsapp/instance", headers=auth_headers(instance_id, token)).status_code == 200

    # Reloading the page neither creates another instance nor shows the token again.
    again = client.get(location)
    assert again.status_code == 200
    page = again.get_data(as_text=True)
    assert token_on(page) is None and token not in page
    assert SHOWN_ONCE in page and "Rotate token" in page
    assert db["instances"].count == 1

    # The clear token is nowhere: not in the URL, the cookie, or Redis (not even encrypted).
    cookie = client.get_cookie("megamsg_session")
    assert token not in location and token not in cookie.value
    leftovers = redis.Redis.from_url(redis_url).keys("megamsg:once:*")
    assert leftovers == []


def test_the_stash_is_short_lived_and_holds_no_clear_token(client, make_user, redis_url, app):
    logged_in_owner(client, make_user)
    create(client, "Support")
    store = redis.Redis.from_url(redis_url)
    [key] = store.keys("megamsg:once:*")
    assert 0 < store.ttl(key) <= 300
    stored = store.get(key)
    shown = token_on(client.get(f"/instances/{_only_instance(app)}/token").get_data(as_text=True))
    # Redis (and its append-only file) keeps the token only XORed with a pad kept in the session.
    assert shown and shown.encode() not in stored and shown not in stored.decode("latin-1")
    assert store.keys("megamsg:once:*") == []


def _only_instance(app) -> str:
    from megamsg.store.db import connect

    database = connect(app.config["DATABASE"])
    try:
        [row] = list(database["instances"].rows)
        return row["id"]
    finally:
        database.conn.close()


def test_another_session_cannot_read_the_stash(client, make_user, app):
    logged_in_owner(client, make_user)
    create(client, "Support")
    instance_id = _only_instance(app)
    other = app.test_client()
    login(other, "owner@example.com")
    page = other.get(f"/instances/{instance_id}/token").get_data(as_text=True)
    assert token_on(page) is None and SHOWN_ONCE in page
    assert token_on(client.get(f"/instances/{instance_id}/token").get_data(as_text=True))


def test_rotate_redirects_and_reloading_does_not_rotate_again(client, make_user, db):
    logged_in_owner(client, make_user)
    location = create(client, "Support").headers["Location"]
    instance_id = location.split("/")[2]
    client.get(location)

    csrf = csrf_from(client.get(f"/instances/{instance_id}/rotate").get_data(as_text=True))
    rotated = client.post(f"/instances/{instance_id}/rotate", data={"csrf_token": csrf, "confirmed": "yes"})
    assert rotated.status_code == 303
    assert rotated.headers["Location"] == f"/instances/{instance_id}/token"
    hash_after_rotation = db["instances"].get(instance_id)["token_hash"]
    new = token_on(client.get(rotated.headers["Location"]).get_data(as_text=True))
    assert new

    reloaded = client.get(rotated.headers["Location"]).get_data(as_text=True)
    assert token_on(reloaded) is None and SHOWN_ONCE in reloaded
    assert db["instances"].get(instance_id)["token_hash"] == hash_after_rotation
    assert client.get("/api/whatsapp/instance", headers=auth_headers(instance_id, new)).status_code == 200


def test_token_page_of_someone_elses_instance_is_404(client, make_user, make_instance):
    theirs, _ = make_instance("Theirs", owner_email="other@example.com")
    logged_in_owner(client, make_user)
    assert client.get(f"/instances/{theirs['id']}/token").status_code == 404


def test_failed_create_redirects_back_with_the_reason(client, make_user, db):
    logged_in_owner(client, make_user)
    answer = create(client, "   ")
    assert answer.status_code in (302, 303) and answer.headers["Location"] == "/instances"
    assert "Name must be 1 to 100 characters." in client.get("/instances").get_data(as_text=True)
    assert db["instances"].count == 0
