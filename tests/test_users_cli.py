"""`flask megamsg user …`: disable, enable, reset-password, list (issue 10, accounts)."""

import pytest

from megamsg.store import accounts
from tests.conftest import PASSWORD, login


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=["megamsg", "user", *args])


def test_disable_ends_sessions_and_enable_lets_them_back(app, db, make_user):
    make_user("admin@example.com", is_admin=True)
    make_user("owner@example.com")
    client = app.test_client()
    assert login(client, "owner@example.com").status_code == 302

    disabled = run(app, "disable", "Owner@Example.com")
    assert disabled.exit_code == 0, disabled.output
    assert disabled.output.strip() == "Disabled owner@example.com (1 session ended)."
    assert client.get("/instances").status_code == 302
    assert login(app.test_client(), "owner@example.com").status_code == 403

    again = run(app, "disable", "owner@example.com")
    assert again.exit_code != 0 and "already disabled" in again.output

    enabled = run(app, "enable", "owner@example.com")
    assert enabled.exit_code == 0 and "Enabled owner@example.com." in enabled.output
    assert login(app.test_client(), "owner@example.com").status_code == 302


def test_reset_password_prints_a_working_password_once(app, db, make_user):
    make_user("owner@example.com")
    client = app.test_client()
    login(client, "owner@example.com")
    result = run(app, "reset-password", "owner@example.com")
    assert result.exit_code == 0, result.output
    password = result.output.split("Password:")[1].split()[0]
    assert result.output.count(password) == 1
    assert "1 session of owner@example.com ended" in result.output
    assert client.get("/instances").status_code == 302
    assert login(app.test_client(), "owner@example.com", PASSWORD).status_code == 401
    assert login(app.test_client(), "owner@example.com", password).status_code == 302


@pytest.mark.parametrize(
    "args,says",
    [
        (("disable", "ghost@example.com"), "No user with email ghost@example.com."),
        (("enable", "ghost@example.com"), "No user with email ghost@example.com."),
        (("reset-password", "ghost@example.com"), "No user with email ghost@example.com."),
        (("disable", "admin@example.com"), "is the last active admin"),
        (("enable", "admin@example.com"), "is not disabled"),
    ],
)
def test_refusals_are_clear_and_change_nothing(app, db, make_user, args, says):
    make_user("admin@example.com", is_admin=True)
    before = db.execute("SELECT * FROM users").fetchall()
    result = run(app, *args)
    assert result.exit_code != 0
    assert says in result.output
    assert db.execute("SELECT * FROM users").fetchall() == before


def test_list_shows_role_and_status(app, db, make_user):
    make_user("admin@example.com", is_admin=True)
    owner = make_user("owner@example.com")
    accounts.disable_user(db, owner["id"], actor_id=None)
    lines = run(app, "list").output.splitlines()
    assert lines[0].startswith("admin@example.com  admin  active  last login=never")
    assert lines[1].startswith("owner@example.com  user  disabled since ")


def test_create_user_still_works_as_the_contract_says(app, db):
    result = app.test_cli_runner().invoke(
        args=["megamsg", "create-user", "boss@example.com", "--admin", "--password", "long enough pw"]
    )
    assert result.exit_code == 0 and "Created admin user boss@example.com." in result.output
    assert accounts.user_by_email(db, "boss@example.com")["disabled_at"] is None
