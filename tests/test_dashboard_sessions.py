"""Server-side, revocable dashboard sessions (issue 10, bug 2)."""

import pytest

from tests.conftest import PASSWORD, csrf_from, login

NEW_PASSWORD = "a brand new passphrase"


def logged_in(app, email: str = "owner@example.com", password: str = PASSWORD):
    """A fresh test client logged in as email."""
    client = app.test_client()
    assert login(client, email, password).status_code == 302
    return client


def saved_cookie(client) -> str:
    return client.get_cookie("megamsg_session").value


def opens_instances(client) -> bool:
    return client.get("/instances").status_code == 200


def test_a_saved_cookie_no_longer_opens_instances_after_logout(app, make_user):
    make_user("owner@example.com")
    client = logged_in(app)
    cookie = saved_cookie(client)
    csrf = csrf_from(client.get("/instances").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": csrf}).status_code in (302, 303)

    replay = app.test_client()
    replay.set_cookie("megamsg_session", cookie)
    answer = replay.get("/instances")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login")


def test_logout_says_so(app, make_user):
    make_user("owner@example.com")
    client = logged_in(app)
    csrf = csrf_from(client.get("/instances").get_data(as_text=True))
    answer = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=True)
    assert "You are logged out." in answer.get_data(as_text=True)


def test_logout_ends_only_this_session(app, make_user):
    make_user("owner@example.com")
    first, second = logged_in(app), logged_in(app)
    csrf = csrf_from(first.get("/instances").get_data(as_text=True))
    first.post("/logout", data={"csrf_token": csrf})
    assert not opens_instances(first)
    assert opens_instances(second)


def test_log_out_everywhere_ends_every_session(app, make_user):
    make_user("owner@example.com")
    make_user("other@example.com")
    here, elsewhere, someone_else = logged_in(app), logged_in(app), logged_in(app, "other@example.com")
    confirm = here.get("/account/logout-everywhere")
    assert confirm.status_code == 200
    csrf = csrf_from(confirm.get_data(as_text=True))

    # The same confirmation as every destructive action: a POST without it only asks.
    asked = here.post("/account/logout-everywhere", data={"csrf_token": csrf})
    assert asked.headers["Location"] == "/account/logout-everywhere"
    assert opens_instances(elsewhere)

    done = here.post("/account/logout-everywhere", data={"csrf_token": csrf, "confirmed": "yes"})
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "Logged out everywhere: 2 sessions ended." in here.get("/login").get_data(as_text=True)
    assert not opens_instances(here)
    ended = elsewhere.get("/instances", follow_redirects=True).get_data(as_text=True)
    assert "Your session has ended (logged out, or the password was changed). Log in again." in ended
    assert not opens_instances(elsewhere)
    assert opens_instances(someone_else)


def change_password(client, current: str, new: str):
    csrf = csrf_from(client.get("/account").get_data(as_text=True))
    return client.post(
        "/account/password", data={"csrf_token": csrf, "current_password": current, "new_password": new}
    )


def test_change_password_ends_other_sessions_and_keeps_this_one(app, make_user):
    make_user("owner@example.com")
    here, elsewhere = logged_in(app), logged_in(app)
    elsewhere_cookie = saved_cookie(elsewhere)
    answer = change_password(here, PASSWORD, NEW_PASSWORD)
    assert answer.status_code == 303 and answer.headers["Location"] == "/account"
    assert "Password changed. Your other sessions (1) were logged out." in here.get("/account").get_data(
        as_text=True
    )
    assert opens_instances(here)
    assert not opens_instances(elsewhere)
    replay = app.test_client()
    replay.set_cookie("megamsg_session", elsewhere_cookie)
    assert not opens_instances(replay)
    assert login(app.test_client(), "owner@example.com", PASSWORD).status_code == 401
    assert login(app.test_client(), "owner@example.com", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "current,new,says",
    [
        ("not my password", NEW_PASSWORD, "Your current password is not right."),
        (PASSWORD, "short", "Password must be at least 10 characters."),
    ],
)
def test_change_password_refusals_change_nothing(app, make_user, current, new, says):
    make_user("owner@example.com")
    here, elsewhere = logged_in(app), logged_in(app)
    answer = change_password(here, current, new)
    assert answer.status_code == 422
    assert says in answer.get_data(as_text=True)
    assert opens_instances(here) and opens_instances(elsewhere)
    assert login(app.test_client(), "owner@example.com", PASSWORD).status_code == 302


def test_sessions_are_stored_hashed_and_end_when_idle(app, make_user, db):
    make_user("owner@example.com")
    client = logged_in(app)
    sid = app.session_interface.get_signing_serializer(app).loads(saved_cookie(client))["sid"]
    dump = "\n".join(db.iterdump())
    assert sid not in dump
    [row] = list(db["dashboard_sessions"].rows)
    db.execute(
        "UPDATE dashboard_sessions SET last_seen_at = '2000-01-01T00:00:00+00:00' WHERE id = ?", [row["id"]]
    )
    db.conn.commit()
    assert not opens_instances(client)
    assert db["dashboard_sessions"].count == 0


def test_a_cookie_from_before_server_side_sessions_is_not_enough(app, make_user):
    user = make_user("owner@example.com")
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = user["id"]  # what a login used to store
    assert not opens_instances(client)


def test_guessing_the_current_password_counts_towards_the_account_lock(app, make_user):
    make_user("owner@example.com")
    here = logged_in(app)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert change_password(here, "not my password", NEW_PASSWORD).status_code == 422
    locked = change_password(here, PASSWORD, NEW_PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed attempts for this account." in locked.get_data(as_text=True)
    assert login(app.test_client(), "owner@example.com", PASSWORD).status_code == 429
