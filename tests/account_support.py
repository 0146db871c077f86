"""Helpers for the provisioning API tests: account API keys made directly in the store."""

from megamsg.store import accounts, api_keys
from megamsg.store.db import connect
from tests.conftest import PASSWORD

ACCOUNT = "/api/account/"
BOTH = [api_keys.READ, api_keys.WRITE]


def make_key(app, email: str = "owner@example.com", scopes: list[str] | None = None, name: str = "ci") -> str:
    """A fresh key for the user with that email (created if needed); returns the clear key."""
    database = connect(app.config["DATABASE"])
    try:
        user = accounts.user_by_email(database, email) or accounts.create_user(database, email, PASSWORD)
        _, key = api_keys.create_key(database, user["id"], name, scopes or BOTH)
        return key
    finally:
        database.conn.close()


def key_headers(key: str) -> dict[str, str]:
    """The one header the account API takes."""
    return {"Authorization": f"Bearer {key}"}
