"""Issue 17: the dashboard's API keys page (shown once, last use, revoke) and the audit log, in a real browser."""

import re

import pytest
import requests

from tests.browser_pages import check_layout
from tests.conftest import PASSWORD, csrf_from, login
from tests.test_users_admin import browser_log_in

OWNER = "owner@example.com"
INSTANCES = "/api/account/instances"


def call(
    live_server: str, key: str, method: str = "get", path: str = INSTANCES, **kwargs
) -> requests.Response:
    return requests.request(
        method, live_server + path, headers={"Authorization": f"Bearer {key}"}, timeout=10, **kwargs
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_a_key_is_shown_once_used_audited_and_revoked(browser, live_server, make_user, width):
    make_user(OWNER)
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        browser_log_in(page, live_server, OWNER, PASSWORD)
        page.goto(live_server + "/account")
        with page.expect_navigation():
            page.get_by_role("link", name="Manage API keys").click()
        assert "No keys yet." in page.inner_text("#api-keys")
        page.get_by_label("Name").fill("CRM on app-server-1")
        with page.expect_navigation():
            page.get_by_role("button", name="Create key").click()
        assert re.search(r"/account/keys/\d+$", page.url), page.url
        key = page.inner_text("#api-key")
        assert key.startswith("mmk_") and len(key) == 47
        check_layout(page, f"api-key-shown-{width}")
        page.reload()
        assert page.locator("#api-key").count() == 0
        assert "was shown once" in page.inner_text("#key-gone")
        assert key not in page.content()
        check_layout(page, f"api-key-gone-{width}")

        made = call(live_server, key, "post", json={"name": "Customer 42"})
        assert made.status_code == 201, made.text
        page.goto(live_server + "/account/keys")
        row = page.locator("tr", has_text="CRM on app-server-1")
        assert key[:12] in row.inner_text() and key not in page.content()
        assert "never" not in row.locator("td").nth(5).inner_text()  # last used: just now
        check_layout(page, f"api-keys-list-{width}")

        page.goto(live_server + "/account/audit")
        first = page.locator("#audit-log tbody tr").first
        assert "instance.create" in first.inner_text() and "201" in first.inner_text()
        assert made.json()["instance_id"] in first.inner_text()
        check_layout(page, f"api-audit-{width}")

        page.goto(live_server + "/account/keys")
        with page.expect_navigation():
            page.locator("tr", has_text="CRM on app-server-1").get_by_role("link", name="Revoke…").click()
        check_layout(page, f"api-key-revoke-confirm-{width}")
        with page.expect_navigation():
            page.get_by_role("button", name="Revoke key").click()
        assert "revoked: it no longer works" in page.inner_text(".flash.ok")
        assert "revoked" in page.locator("tr", has_text="CRM on app-server-1").inner_text()
        check_layout(page, f"api-keys-after-revoke-{width}")
        refused = call(live_server, key)
        assert (refused.status_code, refused.json()) == (401, {"ok": False, "message": "Unauthorized."})
    finally:
        context.close()


def test_a_read_only_key_from_the_form_has_only_the_read_scope(app, client, make_user, db):
    make_user(OWNER)
    login(client, OWNER)
    token = csrf_from(client.get("/account/keys").get_data(as_text=True))
    answer = client.post("/account/keys", data={"name": "reports", "access": "read", "csrf_token": token})
    assert answer.status_code == 303
    assert db.execute("SELECT scopes FROM api_keys").fetchall() == [("instances:read",)]


@pytest.mark.parametrize(
    "form,says",
    [
        ({"name": "", "access": "write"}, "Name must be"),
        ({"name": "x", "access": "admin"}, "Choose what the key may do"),
    ],
)
def test_bad_key_forms_are_refused_and_change_nothing(client, make_user, db, form, says):
    make_user(OWNER)
    login(client, OWNER)
    token = csrf_from(client.get("/account/keys").get_data(as_text=True))
    answer = client.post("/account/keys", data={**form, "csrf_token": token})
    assert answer.status_code == 422 and says in answer.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM api_keys").fetchone()[0] == 0


def test_another_users_key_pages_are_404(app, client, make_user):
    from tests.account_support import make_key

    make_key(app, "other@example.com")
    make_user(OWNER)
    login(client, OWNER)
    for path in ("/account/keys/1", "/account/keys/1/revoke"):
        assert client.get(path).status_code == 404
    token = csrf_from(client.get("/account/keys").get_data(as_text=True))
    assert (
        client.post("/account/keys/1/revoke", data={"confirmed": "yes", "csrf_token": token}).status_code
        == 404
    )
    assert client.get("/account/keys").status_code == 200
