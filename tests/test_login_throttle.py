"""Failed-login throttling per account and per address, and `megamsg unlock` (issue 10, bug 3)."""

import re

import pytest
import redis

from megamsg import keys
from megamsg.config import DEFAULTS
from tests.conftest import PASSWORD, csrf_from


@pytest.fixture
def config_overrides(config_overrides):
    """Behind one trusted proxy, so each test request can come from an address of its choice."""
    return {**config_overrides, "TRUSTED_PROXIES": 1}


@pytest.fixture
def users(make_user):
    make_user("owner@example.com")
    make_user("admin@example.com", is_admin=True)


def attempt(app, email: str, password: str, address: str):
    """One login through the real form, from address."""
    client = app.test_client()
    csrf = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf},
        headers={"X-Forwarded-For": address},
    )


def test_limits_are_separate_and_the_address_one_is_higher():
    assert DEFAULTS["LOGIN_MAX_FAILURES"] == 5
    assert DEFAULTS["LOGIN_ADDRESS_MAX_FAILURES"] == 20
    assert DEFAULTS["LOGIN_LOCK_SECONDS"] == 900


def test_failures_for_other_emails_from_one_address_do_not_lock_out_the_right_password(app, users):
    # Five wrong passwords for other emails used to lock the whole address, admin included.
    for n in range(app.config["LOGIN_MAX_FAILURES"]):
        assert attempt(app, f"nobody{n}@example.com", "wrong password!", "203.0.113.7").status_code == 401
    assert attempt(app, "admin@example.com", PASSWORD, "203.0.113.7").status_code == 302


def test_a_locked_address_still_lets_the_right_password_of_an_unlocked_account_in(app, users):
    limit = app.config["LOGIN_ADDRESS_MAX_FAILURES"]
    for n in range(limit):
        attempt(app, f"spray{n % 4}@example.com", "wrong password!", "203.0.113.7")
    wrong = attempt(app, "owner@example.com", "wrong password!", "203.0.113.7")
    assert wrong.status_code == 429
    assert "Too many failed attempts from your address" in wrong.get_data(as_text=True)
    assert attempt(app, "admin@example.com", PASSWORD, "203.0.113.7").status_code == 302
    assert attempt(app, "owner@example.com", PASSWORD, "203.0.113.7").status_code == 302


def test_an_account_locks_whatever_address_the_guesses_come_from(app, users):
    for n in range(app.config["LOGIN_MAX_FAILURES"]):
        assert attempt(app, "owner@example.com", "wrong password!", f"198.51.100.{n}").status_code == 401
    locked = attempt(app, "owner@example.com", PASSWORD, "192.0.2.99")
    assert locked.status_code == 429
    assert "Too many failed attempts for this account" in locked.get_data(as_text=True)
    # Other accounts, even from the same addresses, are not affected.
    assert attempt(app, "admin@example.com", PASSWORD, "198.51.100.0").status_code == 302


def test_the_lock_lasts_the_configured_time_from_the_failure_that_reached_the_limit(app, users, redis_url):
    lock = app.config["LOGIN_LOCK_SECONDS"]
    attempt(app, "owner@example.com", "wrong password!", "198.51.100.1")
    # Age the window: the first failure was 14.5 minutes ago.
    store = redis.Redis.from_url(redis_url)
    for key in store.keys("megamsg:throttle:login:*"):
        store.expire(key, 30)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        attempt(app, "owner@example.com", "wrong password!", "198.51.100.1")
    locked = attempt(app, "owner@example.com", PASSWORD, "198.51.100.1")
    assert locked.status_code == 429
    assert lock - 5 <= int(locked.headers["Retry-After"]) <= lock
    assert "Try again in 15 minutes." in locked.get_data(as_text=True)


def test_the_remaining_time_counts_down(app, users, redis_url):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        attempt(app, "owner@example.com", "wrong password!", "198.51.100.1")
    store = redis.Redis.from_url(redis_url)
    [key] = store.keys("megamsg:throttle:login:account:*")
    store.expire(key, 150)  # as if 12.5 minutes of the lock had gone by
    locked = attempt(app, "owner@example.com", PASSWORD, "198.51.100.1")
    assert 145 <= int(locked.headers["Retry-After"]) <= 150
    assert "Try again in 3 minutes." in locked.get_data(as_text=True)
    store.expire(key, 40)
    assert "Try again in 40 seconds." in attempt(app, "owner@example.com", PASSWORD, "1.2.3.4").get_data(
        as_text=True
    )


def test_a_success_clears_the_account_failures_but_not_the_address_ones(app, users, redis_url):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        attempt(app, "owner@example.com", "wrong password!", "198.51.100.1")
    assert attempt(app, "owner@example.com", PASSWORD, "198.51.100.1").status_code == 302
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert attempt(app, "owner@example.com", "wrong password!", "198.51.100.1").status_code == 401
    store = redis.Redis.from_url(redis_url)
    address = keys.login_failures("login", "address", "198.51.100.1")
    assert int(store.get(address)) == 2 * (app.config["LOGIN_MAX_FAILURES"] - 1)


def test_a_counter_that_lost_its_expiry_gets_it_back(app, users, redis_url):
    # INCR right after the window expired used to leave a counter without a TTL: a lock forever,
    # shown as "Try again in 1 minute(s)".
    store = redis.Redis.from_url(redis_url)
    key = keys.login_failures("login", "account", "owner@example.com")
    store.set(key, app.config["LOGIN_MAX_FAILURES"] - 2)
    attempt(app, "owner@example.com", "wrong password!", "198.51.100.1")
    attempt(app, "owner@example.com", "wrong password!", "198.51.100.1")
    locked = attempt(app, "owner@example.com", PASSWORD, "198.51.100.1")
    assert locked.status_code == 429
    assert 0 < store.ttl(key) <= app.config["LOGIN_LOCK_SECONDS"]
    assert int(locked.headers["Retry-After"]) > app.config["LOGIN_LOCK_SECONDS"] - 5


def test_unlock_command_clears_an_accounts_lock_and_says_whether_there_was_one(app, users):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        attempt(app, "Owner@Example.com", "wrong password!", "198.51.100.1")
    assert attempt(app, "owner@example.com", PASSWORD, "198.51.100.1").status_code == 429
    runner = app.test_cli_runner()
    unlocked = runner.invoke(args=["megamsg", "unlock", "OWNER@example.com"])
    assert unlocked.exit_code == 0, unlocked.output
    assert re.search(
        r"Unlocked owner@example\.com \(it was locked for another 1[45] minutes\)\.", unlocked.output
    )
    assert attempt(app, "owner@example.com", PASSWORD, "198.51.100.1").status_code == 302

    again = runner.invoke(args=["megamsg", "unlock", "owner@example.com"])
    assert again.exit_code == 0
    assert "owner@example.com was not locked." in again.output
    ghost = runner.invoke(args=["megamsg", "unlock", "ghost@example.com"])
    assert "ghost@example.com was not locked (and no user has that email)." in ghost.output


def test_unlock_forgets_failures_short_of_a_lock(app, users):
    attempt(app, "owner@example.com", "wrong password!", "198.51.100.1")
    answer = app.test_cli_runner().invoke(args=["megamsg", "unlock", "owner@example.com"])
    assert "owner@example.com was not locked (1 failed attempt forgotten)." in answer.output


def test_setup_code_guesses_are_throttled_per_address(app, db):
    from megamsg.store.setup_code import ensure_setup_code

    code = ensure_setup_code(db)

    def setup(setup_code: str, address: str):
        client = app.test_client()
        csrf = csrf_from(client.get("/setup").get_data(as_text=True))
        return client.post(
            "/setup",
            data={
                "setup_code": setup_code,
                "email": "a@example.com",
                "password": PASSWORD,
                "csrf_token": csrf,
            },
            headers={"X-Forwarded-For": address},
        )

    for _ in range(app.config["LOGIN_ADDRESS_MAX_FAILURES"]):
        assert setup("WRONG", "203.0.113.7").status_code == 400
    locked = setup(code, "203.0.113.7")
    assert locked.status_code == 429
    assert "Too many wrong setup codes from your address. Try again in 15 minutes." in locked.get_data(
        as_text=True
    )
    assert setup(code, "198.51.100.9").status_code == 302
