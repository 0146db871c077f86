"""First-run setup code, login, throttling and CSRF."""

import pytest

from megamsg.store.setup_code import ensure_setup_code
from tests.conftest import PASSWORD, csrf_from, login


def setup_form(client) -> str:
    return csrf_from(client.get("/setup").get_data(as_text=True))


def test_fresh_server_redirects_to_setup(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/setup")


def test_setup_requires_the_code_and_is_single_use(client, db):
    code = ensure_setup_code(db)
    token = setup_form(client)
    wrong = client.post(
        "/setup",
        data={"setup_code": "WRONG", "email": "a@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert wrong.status_code == 400
    assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0

    ok = client.post(
        "/setup",
        data={
            "setup_code": code.lower(),
            "email": "a@example.com",
            "password": PASSWORD,
            "csrf_token": token,
        },
    )
    assert ok.status_code == 302
    user = db.execute("SELECT email, is_admin FROM users").fetchall()
    assert user == [("a@example.com", 1)]

    # The code is gone: a second admin cannot be claimed with it.
    other = client.application.test_client()
    assert other.get("/setup").status_code == 302
    assert db.execute("SELECT count(*) FROM settings WHERE key = 'setup_code'").fetchone()[0] == 0


def test_setup_code_survives_an_invalid_form(client, db):
    code = ensure_setup_code(db)
    token = setup_form(client)
    short = client.post(
        "/setup",
        data={"setup_code": code, "email": "a@example.com", "password": "short", "csrf_token": token},
    )
    assert short.status_code == 422
    assert "at least 10 characters" in short.get_data(as_text=True)
    assert ensure_setup_code(db) == code


def test_setup_code_logged_at_start(config_overrides, caplog):
    from megamsg.web import create_app

    with caplog.at_level("WARNING"):
        app = create_app(config_overrides)
    from megamsg.store.db import connect

    code = ensure_setup_code(connect(app.config["DATABASE"]))
    assert code in caplog.text


def test_login_and_logout(client, make_user):
    make_user("owner@example.com")
    response = login(client, "owner@example.com")
    assert response.status_code == 302
    assert client.get("/instances").status_code == 200
    token = csrf_from(client.get("/instances").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/instances").status_code == 302


def test_session_cookie_flags(client, make_user):
    make_user("owner@example.com")
    response = login(client, "owner@example.com")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_wrong_password_rejected_then_throttled(client, make_user, app):
    make_user("owner@example.com")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(client, "owner@example.com", "wrong password!").status_code == 401
    blocked = login(client, "owner@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in blocked.get_data(as_text=True)


@pytest.mark.parametrize(
    "path,data",
    [
        ("/login", {"email": "owner@example.com", "password": PASSWORD}),
        ("/setup", {"setup_code": "X", "email": "x@example.com", "password": PASSWORD}),
    ],
)
def test_form_post_without_csrf_token_rejected(client, make_user, db, path, data):
    if path == "/login":
        make_user("owner@example.com")
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_create_instance_form_without_csrf_rejected(client, make_user, db):
    make_user("owner@example.com")
    login(client, "owner@example.com")
    response = client.post("/instances", data={"name": "Sneaky"})
    assert response.status_code == 400
    assert db.execute("SELECT count(*) FROM instances").fetchone()[0] == 0


@pytest.mark.parametrize(
    "next_url,lands_on",
    [
        ("/instances/abc", "/instances/abc"),
        ("/instances?page=2", "/instances?page=2"),
        ("//evil.example/x", "/instances"),
        ("/\\evil.example/x", "/instances"),
        ("\\\\evil.example", "/instances"),
        ("https://evil.example/", "/instances"),
        ("/\t/evil.example", "/instances"),
        ("javascript:alert(1)", "/instances"),
        ("", "/instances"),
    ],
)
def test_login_redirects_only_to_paths_on_this_site(client, make_user, next_url, lands_on):
    make_user("owner@example.com")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": next_url},
        data={"email": "owner@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == lands_on


def test_secure_cookies_setting(config_overrides, make_user):
    from megamsg.web import create_app

    app = create_app({**config_overrides, "SECURE_COOKIES": True})
    client = app.test_client()
    make_user("owner@example.com")
    cookie = login(client, "owner@example.com").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_behind_a_trusted_proxy_each_client_is_throttled_on_its_own(config_overrides, make_user):
    from megamsg.web import create_app

    app = create_app({**config_overrides, "TRUSTED_PROXIES": 1})
    client = app.test_client()
    make_user("owner@example.com")
    make_user("other@example.com")

    def attempt(email: str, password: str, address: str) -> int:
        token = csrf_from(client.get("/login").get_data(as_text=True))
        return client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            headers={"X-Forwarded-For": address},
        ).status_code

    for n in range(app.config["LOGIN_ADDRESS_MAX_FAILURES"]):
        assert attempt(f"nobody{n}@example.com", "wrong password!", "203.0.113.7") == 401
    assert attempt("other@example.com", "wrong password!", "203.0.113.7") == 429  # that client is slowed
    assert attempt("other@example.com", "wrong password!", "198.51.100.9") == 401  # everyone else is not
    assert attempt("other@example.com", PASSWORD, "203.0.113.7") == 302  # and the right password works
