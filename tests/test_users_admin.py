"""Issue 10, accounts: admins add users, reset passwords, disable and enable them (dashboard and browser)."""

import re

import pytest

from megamsg.store import accounts
from megamsg.store.db import connect
from megamsg.store.migrations import MIGRATIONS, apply_migrations
from tests.browser_pages import check_layout
from tests.conftest import PASSWORD, auth_headers, csrf_from, login

ADMIN, OWNER, TARGET = "admin@example.com", "owner@example.com", "target@example.com"


def logged_in(app, email: str, password: str = PASSWORD):
    """A fresh test client logged in as email."""
    client = app.test_client()
    answer = login(client, email, password)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def csrf(client) -> str:
    return csrf_from(client.get("/account").get_data(as_text=True))


def users_table(db) -> list[tuple]:
    return db.execute(
        "SELECT id, email, password_hash, is_admin, disabled_at FROM users ORDER BY id"
    ).fetchall()


def session_count(db) -> int:
    return db.execute("SELECT count(*) FROM dashboard_sessions").fetchone()[0]


def opens_instances(client) -> bool:
    return client.get("/instances").status_code == 200


def confirm_post(client, path: str, **extra):
    return client.post(path, data={"csrf_token": csrf(client), "confirmed": "yes", **extra})


@pytest.fixture
def people(make_user):
    """An admin, an ordinary user and a user to act on: {email: row}."""
    return {
        ADMIN: make_user(ADMIN, is_admin=True),
        OWNER: make_user(OWNER),
        TARGET: make_user(TARGET),
    }


ROUTES = [
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/users/{id}/password"),
    ("get", "/users/{id}/reset-password"),
    ("post", "/users/{id}/reset-password"),
    ("get", "/users/{id}/disable"),
    ("post", "/users/{id}/disable"),
    ("get", "/users/{id}/enable"),
    ("post", "/users/{id}/enable"),
    ("get", "/users/{id}/admin"),
    ("post", "/users/{id}/admin"),
    ("get", "/users/{id}/remove-admin"),
    ("post", "/users/{id}/remove-admin"),
]


@pytest.mark.slow  # 13 routes × 3 visitors, each a fresh app and password hashes: ~90 s
@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize(
    "who,expected",
    [(None, "login"), (OWNER, 404), (ADMIN, "works")],
)
def test_user_pages_are_for_admins_only(app, db, people, method, path, who, expected):
    path = path.format(id=people[TARGET]["id"])
    if who is None:
        client = app.test_client()
        token = csrf_from(client.get("/login").get_data(as_text=True))
    else:
        client = logged_in(app, who)
        token = csrf(client)
    before, sessions = users_table(db), session_count(db)
    data = {"csrf_token": token, "confirmed": "yes", "email": "new@example.com", "is_admin": "yes"}
    answer = getattr(client, method)(path, data=data if method == "post" else None)
    if expected == "login":
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith("/login?next=")
    elif expected == 404:
        assert answer.status_code == 404
    else:
        assert answer.status_code in (200, 303), answer.get_data(as_text=True)
        return
    assert users_table(db) == before  # nothing changed
    assert session_count(db) == sessions


def test_unknown_user_is_404(app, people):
    admin = logged_in(app, ADMIN)
    assert admin.get("/users/999/disable").status_code == 404
    assert confirm_post(admin, "/users/999/reset-password").status_code == 404


def test_the_list_shows_role_status_logins_instances_and_sessions(app, people, make_instance):
    make_instance("One", owner_email=TARGET)
    make_instance("Two", owner_email=TARGET)
    logged_in(app, TARGET)
    admin = logged_in(app, ADMIN)
    page = admin.get("/users").get_data(as_text=True)
    row = re.search(rf'<tr data-user="{re.escape(TARGET)}">(.*?)</tr>', page, re.S)
    assert row, page
    cells = [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]
    email, role, status, created, last_login, instance_count, sessions = cells[:7]
    assert (email, role, status, instance_count, sessions) == (TARGET, "user", "active", "2", "1")
    assert "never" not in last_login and re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", last_login)
    assert '<div class="table-wrap">' in page
    owner_row = re.search(rf'<tr data-user="{re.escape(OWNER)}">(.*?)</tr>', page, re.S).group(1)
    assert "never" in owner_row  # OWNER has not logged in


@pytest.mark.parametrize(
    "email,says",
    [
        ("not-an-email", "Enter a valid email address."),
        ("", "Enter a valid email address."),
        ("two words@example.com", "Enter a valid email address."),
        (TARGET, "A user with that email already exists."),
        ("  Target@Example.COM ", "A user with that email already exists."),
    ],
)
def test_add_user_refusals_change_nothing(app, db, people, email, says):
    admin = logged_in(app, ADMIN)
    before = users_table(db)
    answer = admin.post("/users", data={"csrf_token": csrf(admin), "email": email, "is_admin": "yes"})
    assert answer.status_code == 422
    assert says in answer.get_data(as_text=True)
    assert users_table(db) == before


def test_added_user_gets_a_password_shown_once_that_logs_in(app, db, people):
    admin = logged_in(app, ADMIN)
    answer = admin.post("/users", data={"csrf_token": csrf(admin), "email": " New@Example.com"})
    assert answer.status_code == 303
    location = answer.headers["Location"]
    created = accounts.user_by_email(db, "new@example.com")
    assert location == f"/users/{created['id']}/password" and created["is_admin"] == 0

    shown = admin.get(location)
    assert shown.headers["Cache-Control"] == "no-store"
    password = re.search(r'<code id="user-password">([^<]+)</code>', shown.get_data(as_text=True)).group(1)
    assert len(password) >= 20 and password not in location
    assert password not in created["password_hash"]

    again = admin.get(location).get_data(as_text=True)
    assert password not in again and "was shown once" in again
    assert password not in admin.get("/users").get_data(as_text=True)

    newcomer = logged_in(app, "new@example.com", password)
    assert opens_instances(newcomer)


def test_added_admin_is_an_admin(app, db, people):
    admin = logged_in(app, ADMIN)
    admin.post("/users", data={"csrf_token": csrf(admin), "email": "boss@example.com", "is_admin": "yes"})
    assert accounts.user_by_email(db, "boss@example.com")["is_admin"] == 1


def test_generated_passwords_differ_and_are_long():
    passwords = {accounts.generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(re.fullmatch(r"([a-z2-9]{5}-){3}[a-z2-9]{5}", password) for password in passwords)


def test_reset_password_asks_first_then_ends_every_session(app, db, people):
    target = logged_in(app, TARGET)
    cookie = target.get_cookie("megamsg_session").value
    admin = logged_in(app, ADMIN)
    target_id = people[TARGET]["id"]

    asked = admin.get(f"/users/{target_id}/reset-password").get_data(as_text=True)
    assert "Reset the password of target@example.com?" in asked and "(1)" in asked
    stale = admin.post(f"/users/{target_id}/reset-password", data={"csrf_token": csrf(admin)})
    assert stale.status_code == 303 and stale.headers["Location"].endswith("/reset-password")
    assert opens_instances(target)  # an unconfirmed POST did nothing

    done = confirm_post(admin, f"/users/{target_id}/reset-password")
    assert done.status_code == 303
    page = admin.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 session of target@example.com ended" in page
    password = re.search(r'<code id="user-password">([^<]+)</code>', page).group(1)

    replay = app.test_client()
    replay.set_cookie("megamsg_session", cookie)
    assert replay.get("/instances").headers["Location"].startswith("/login")
    assert login(app.test_client(), TARGET, PASSWORD).status_code == 401
    assert opens_instances(logged_in(app, TARGET, password))
    assert opens_instances(admin)  # the admin's own session stays


def test_reset_password_clears_the_account_lock(app, people):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(app.test_client(), TARGET, "wrong password!")
    assert login(app.test_client(), TARGET, PASSWORD).status_code == 429
    admin = logged_in(app, ADMIN)
    page = admin.get(confirm_post(admin, f"/users/{people[TARGET]['id']}/reset-password").headers["Location"])
    password = re.search(r'<code id="user-password">([^<]+)</code>', page.get_data(as_text=True)).group(1)
    assert login(app.test_client(), TARGET, password).status_code == 302


def test_an_admin_resets_their_own_password_under_account_only(app, db, people):
    admin = logged_in(app, ADMIN)
    before = users_table(db)
    answer = confirm_post(admin, f"/users/{people[ADMIN]['id']}/reset-password")
    assert answer.status_code == 303
    assert "under Account" in admin.get("/users").get_data(as_text=True)
    assert users_table(db) == before


def test_a_disabled_user_is_logged_out_and_cannot_log_in(app, db, people, make_instance):
    instance, token = make_instance("Theirs", owner_email=TARGET)
    target = logged_in(app, TARGET)
    admin = logged_in(app, ADMIN)
    target_id = people[TARGET]["id"]

    asked = admin.get(f"/users/{target_id}/disable").get_data(as_text=True)
    assert "Their instances keep running" in asked
    done = confirm_post(admin, f"/users/{target_id}/disable")
    assert done.status_code == 303
    assert "target@example.com is disabled: 1 session ended." in admin.get("/users").get_data(as_text=True)

    bounced = target.get("/instances", follow_redirects=True)
    assert bounced.request.path == "/login"
    assert "Your session has ended" in bounced.get_data(as_text=True)

    right = login(app.test_client(), TARGET, PASSWORD)
    assert right.status_code == 403
    assert "This account is disabled. Ask an admin." in right.get_data(as_text=True)
    wrong = login(app.test_client(), TARGET, "wrong password!")
    assert wrong.status_code == 401
    assert "disabled" not in wrong.get_data(as_text=True)  # nothing told to someone guessing

    with app.test_client() as api:  # their instance keeps working
        assert (
            api.get("/api/whatsapp/instance", headers=auth_headers(instance["id"], token)).status_code == 200
        )

    assert confirm_post(admin, f"/users/{target_id}/enable").status_code == 303
    assert opens_instances(logged_in(app, TARGET))


def test_a_session_that_slipped_past_the_disable_opens_nothing(app, db, people):
    target = logged_in(app, TARGET)
    # Disabled without ending sessions, as a login racing the disable would leave it.
    db.execute("UPDATE users SET disabled_at = '2026-01-01T00:00:00+00:00' WHERE email = ?", [TARGET])
    assert not opens_instances(target)
    assert session_count(db) == 0


@pytest.mark.parametrize(
    "path,says",
    [
        ("/users/{me}/disable", "You cannot disable your own account."),
        ("/users/{me}/remove-admin", "You cannot remove your own admin rights."),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_admin_cannot_disable_or_demote_themselves(app, db, people, path, says, method):
    admin = logged_in(app, ADMIN)
    path = path.format(me=people[ADMIN]["id"])
    before = users_table(db)
    answer = admin.get(path) if method == "get" else confirm_post(admin, path)
    assert answer.status_code in (302, 303)
    assert says in admin.get("/users").get_data(as_text=True)
    assert users_table(db) == before
    assert opens_instances(admin)


def test_the_last_active_admin_cannot_be_disabled_or_demoted(db, people):
    admin_id = people[ADMIN]["id"]
    for attempt in (
        lambda: accounts.disable_user(db, admin_id, actor_id=None),
        lambda: accounts.set_admin(db, admin_id, False, actor_id=None),
    ):
        with pytest.raises(accounts.AccountError, match="last active admin"):
            attempt()
    assert accounts.user_by_id(db, admin_id)["is_admin"] == 1
    assert accounts.user_by_id(db, admin_id)["disabled_at"] is None


def test_admins_can_promote_and_demote_each_other(app, db, people):
    admin = logged_in(app, ADMIN)
    target_id = people[TARGET]["id"]
    assert "Make target@example.com an admin?" in admin.get(f"/users/{target_id}/admin").get_data(
        as_text=True
    )
    confirm_post(admin, f"/users/{target_id}/admin")
    target = logged_in(app, TARGET)
    assert target.get("/users").status_code == 200
    confirm_post(target, f"/users/{people[ADMIN]['id']}/remove-admin")
    assert admin.get("/users").status_code == 404  # read from the database on every request
    assert accounts.user_by_id(db, people[ADMIN]["id"])["is_admin"] == 0


@pytest.mark.parametrize("viewer,sees_own,sees_other", [(OWNER, True, False), (ADMIN, True, True)])
def test_users_see_their_own_instances_and_admins_see_all(
    app, people, make_instance, viewer, sees_own, sees_other
):
    own, _ = make_instance("Own", owner_email=viewer)
    other, _ = make_instance("Other", owner_email=TARGET)
    client = logged_in(app, viewer)
    listing = client.get("/instances").get_data(as_text=True)
    assert (own["id"] in listing, other["id"] in listing) == (sees_own, sees_other)
    assert client.get(f"/instances/{other['id']}").status_code == (200 if sees_other else 404)


def test_migration_6_adds_the_columns_to_existing_users(tmp_path):
    db = connect(str(tmp_path / "old.db"))
    db.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
    for version, name, migrate in MIGRATIONS[:5]:
        migrate(db)
        db.execute("INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))", [version, name])
    db.execute("INSERT INTO users (email, password_hash, is_admin) VALUES ('old@example.com', 'x', 1)")
    assert apply_migrations(db)[0] == 6  # and every later one
    row = accounts.user_by_email(db, "old@example.com")
    assert row["disabled_at"] is None and row["last_login_at"] is None
    assert apply_migrations(db) == []


# --- in a real browser ---------------------------------------------------------------------------


def browser_log_in(page, live_server: str, email: str, password: str) -> None:
    page.goto(live_server + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")


@pytest.mark.parametrize("width", [1280, 390])
def test_admin_adds_a_user_who_logs_in_then_is_disabled(browser, live_server, people, width):
    viewport = {"width": width, "height": 800}
    admin_context = browser.new_context(viewport=viewport)
    user_context = browser.new_context(viewport=viewport)
    try:
        admin = admin_context.new_page()
        browser_log_in(admin, live_server, ADMIN, PASSWORD)
        admin.goto(live_server + "/users")
        check_layout(admin, f"users-list-{width}")
        admin.get_by_label("Email").fill("newcomer@example.com")
        with admin.expect_navigation():
            admin.get_by_role("button", name="Add user").click()
        assert re.search(r"/users/\d+/password$", admin.url), admin.url
        admin.get_by_role("button", name="Copy").click()
        password = admin.inner_text("#user-password")
        check_layout(admin, f"users-password-shown-{width}")
        admin.reload()
        assert admin.locator("#user-password").count() == 0
        assert "was shown once" in admin.inner_text("main")
        check_layout(admin, f"users-password-gone-{width}")

        newcomer = user_context.new_page()
        browser_log_in(newcomer, live_server, "newcomer@example.com", password)
        assert newcomer.url.endswith("/instances")

        admin.goto(live_server + "/users")
        row = admin.locator("tr", has_text="newcomer@example.com")
        assert "1" in row.locator("td").nth(6).inner_text()  # one open session
        with admin.expect_navigation():
            row.get_by_role("link", name="Disable…").click()
        assert "Their instances keep running" in admin.inner_text("main")
        check_layout(admin, f"users-disable-confirm-{width}")
        with admin.expect_navigation():
            admin.get_by_role("button", name="Disable user").click()
        assert "newcomer@example.com is disabled: 1 session ended." in admin.inner_text(".flash.ok")
        check_layout(admin, f"users-after-disable-{width}")

        newcomer.reload()
        assert re.search(r"/login\?next=", newcomer.url), newcomer.url
        assert "Your session has ended" in newcomer.inner_text(".flash.error")
        newcomer.fill("input[name=email]", "newcomer@example.com")
        newcomer.fill("input[name=password]", password)
        with newcomer.expect_navigation():
            newcomer.click("main button[type=submit]")
        assert "This account is disabled. Ask an admin." in newcomer.inner_text(".flash.error")
        check_layout(newcomer, f"users-disabled-login-{width}")
    finally:
        admin_context.close()
        user_context.close()


@pytest.mark.parametrize(
    "act",
    [
        lambda db, user_id: accounts.disable_user(db, user_id, actor_id=None),
        lambda db, user_id: accounts.reset_password(db, user_id),
    ],
    ids=["disable", "reset-password"],
)
def test_ending_the_sessions_is_part_of_the_same_transaction(app, db, people, act):
    logged_in(app, TARGET)
    before = users_table(db)
    # A real SQLite trigger makes the second write fail: the first must be rolled back with it.
    db.execute(
        "CREATE TRIGGER refuse_session_end BEFORE DELETE ON dashboard_sessions BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    with pytest.raises(Exception, match="refused"):
        act(db, people[TARGET]["id"])
    db.execute("DROP TRIGGER refuse_session_end")
    assert users_table(db) == before
    assert session_count(db) == 1
