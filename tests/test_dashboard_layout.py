"""Every dashboard page at 1280 and 390 px, light and dark: no sideways scrolling, and axe-core finds
no serious or critical accessibility violation. Screenshots: screenshots/layout-<page>-<width>-<scheme>.png.

To add a page, add a Page row to PAGES: its prepare function makes the data the page needs (it runs
once per width and scheme, so it must be safe to run again) and returns the path to open.
"""

import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import expect

from megamsg.delivery.webhooks import record_event
from megamsg.store import accounts, instances, message_log, webhook_events
from megamsg.store.db import connect
from megamsg.web import create_app
from megamsg.web.dashboard import throttle
from tests.a11y import assert_accessible
from tests.browser_pages import RequestLog, check_layout
from tests.conftest import FAST_RUNTIME, PASSWORD, flush_our_keys

ADMIN = "admin@example.com"
EMPTY = "empty@example.com"  # a user without instances
LOCKED = "locked@example.com"  # an account locked by failed logins
BOOM = "/layout-test/boom"  # a route this module adds to its own app, to show the 500 page
WIDTHS = {1280: 900, 390: 844}
SCHEMES = ("light", "dark")


class Site:
    """A running app on its own database, with the data pages ask for made once."""

    def __init__(self, base: str, app: Any) -> None:
        self.base, self.app = base, app
        self.made: dict[str, Any] = {}

    def once(self, key: str, make: Callable[[Any], Any]) -> Any:
        """make(db)'s result, made the first time only."""
        if key not in self.made:
            database = connect(self.app.config["DATABASE"])
            try:
                self.made[key] = make(database)
            finally:
                database.conn.close()
        return self.made[key]

    def user(self, email: str, is_admin: bool = False) -> dict:
        """A user with the test password."""
        return self.once(
            f"user:{email}", lambda db: accounts.create_user(db, email, PASSWORD, is_admin=is_admin)
        )

    def instance(self) -> dict:
        """The admin's instance, with two messages and three webhook events (one with two attempts)."""
        self.user(ADMIN, is_admin=True)

        def make(db: Any) -> dict:
            row, _token = instances.create_instance(db, self.made[f"user:{ADMIN}"]["id"], "Support line")
            for n, text in enumerate(("Your order #1042 has shipped and arrives on Friday.", "Thanks!")):
                fields = {"peer": "+201000000002", "type": "text", "text": text, "wa_id": f"3EB0LAYOUT{n}"}
                if n:
                    message_log.record_incoming(db, row["id"], fields)
                else:
                    message_log.create_outgoing(db, row["id"], fields)
            db["instances"].update(row["id"], {"webhook_url": "https://example.com/whatsapp/webhook"})
            hooked = db["instances"].get(row["id"])
            events = [record_event(db, hooked, "message", {"message": {"text": str(n)}}) for n in range(3)]
            url = hooked["webhook_url"]
            webhook_events.record_attempt(
                db,
                events[0],
                1,
                url,
                "pending",
                status_code=503,
                error="HTTP 503",
                duration_ms=84,
                excerpt="busy",
            )
            webhook_events.record_attempt(
                db,
                events[0],
                2,
                url,
                "delivered",
                status_code=200,
                error=None,
                duration_ms=41,
                excerpt='{"ok":true}',
            )
            webhook_events.finish(db, events[1], "failed", "connection refused")
            return {**row, "events": events}

        return self.once("instance", make)


def path(value: str) -> Callable[[Site], str]:
    """A page that needs no data."""
    return lambda site: value


def instance_page(suffix: str) -> Callable[[Site], str]:
    """A page of the admin's instance: /instances/<id><suffix>."""
    return lambda site: f"/instances/{site.instance()['id']}{suffix}"


def event_page(site: Site) -> str:
    """The first webhook event's page (two attempts)."""
    instance = site.instance()
    return f"/instances/{instance['id']}/webhooks/{instance['events'][0]}"


def message_page(direction: str) -> Callable[[Site], str]:
    """The detail page of the admin's instance's first message in that direction."""

    def prepare(site: Site) -> str:
        instance = site.instance()
        database = connect(site.app.config["DATABASE"])
        try:
            [message_id] = database.execute(
                "SELECT id FROM messages WHERE instance_id = ? AND direction = ?", [instance["id"], direction]
            ).fetchone()
        finally:
            database.conn.close()
        return f"/instances/{instance['id']}/messages/{message_id}"

    return prepare


def user_page(suffix: str) -> Callable[[Site], str]:
    """A page about the user without instances, for the admin: /users/<id><suffix>."""
    return lambda site: f"/users/{site.user(EMPTY)['id']}{suffix}"


def locked_account(site: Site) -> str:
    """The login page, with LOCKED locked by as many failures as the limit allows."""
    site.user(LOCKED)

    def lock(_db: Any) -> None:
        for _ in range(int(site.app.config["LOGIN_MAX_FAILURES"])):
            throttle.record_failure(site.app.config, "login", {throttle.ACCOUNT: LOCKED})

    site.once("locked", lock)
    return "/login"


def log_in(page, email: str) -> None:
    """Log in through the form on the current /login page."""
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def wrong_password(page) -> None:
    """Submit a wrong password for the locked account: the throttled page answers."""
    page.fill("input[name=email]", LOCKED)
    page.fill("input[name=password]", "not the password")
    with page.expect_navigation():
        page.click("main button[type=submit]")


def log_in_and_out(page) -> None:
    """Log in as the admin, then press Log out: the login page shows the logged-out notice."""
    log_in(page, ADMIN)
    with page.expect_navigation():
        page.click("header button:has-text('Log out')")
    assert "You are logged out." in page.inner_text(".flash.ok")


def rotate_token(page) -> None:
    """Confirm the rotation: the token page shows the new token once."""
    with page.expect_navigation():
        page.click("main form button.danger")
    assert page.locator("#token").count() == 1


def swagger_ready(page) -> None:
    """Swagger UI has drawn the operations."""
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)


@dataclass(frozen=True)
class Page:
    """One dashboard page: how to reach it, as whom, and what it answers."""

    name: str
    prepare: Callable[[Site], str]
    who: str = ADMIN  # a logged-in user's email, "anonymous", or "fresh" (anonymous, no user exists yet)
    status: int = 200
    then: Callable[[Any], None] | None = None  # browser steps after opening the path
    # axe rules that fail because of vendored markup this project cannot change, each with its reason.
    known: dict[str, str] = field(default_factory=dict)


PAGES = [
    Page("setup", path("/setup"), who="fresh"),
    Page("login", path("/login"), who="anonymous"),
    Page("logged-out", path("/login"), who="anonymous", then=log_in_and_out),
    Page("throttled", locked_account, who="anonymous", then=wrong_password),
    Page("instances-empty", path("/instances"), who=EMPTY),
    Page("instances", lambda site: site.instance() and "/instances"),
    Page("instance", instance_page("")),
    Page("token", instance_page("/rotate"), then=rotate_token),
    Page("token-gone", instance_page("/token")),
    Page("webhooks", instance_page("/webhooks")),
    Page("webhook-event", event_page),
    Page("redeliver-failed", instance_page("/webhooks/redeliver-failed?hours=24")),
    Page("account", path("/account")),
    Page("confirm", path("/account/logout-everywhere")),
    Page("delete", instance_page("/delete")),
    Page("messages", instance_page("/messages")),
    Page("messages-none-match", instance_page("/messages?q=no+such+text")),
    Page("messages-bad-filter", instance_page("/messages?status=lost"), status=400),
    Page("message-out", message_page("out")),
    Page("message-in", message_page("in")),
    Page("users", path("/users")),
    Page("api-keys", path("/account/keys")),
    Page("audit-log", path("/account/audit")),
    Page("user-disable", user_page("/disable")),
    Page("user-reset-password", user_page("/reset-password")),
    Page("not-found", path("/instances/no-such-instance"), status=404),
    Page("not-found-anonymous", path("/no/such/page"), who="anonymous", status=404),
    Page("method-not-allowed", path("/logout"), who="anonymous", status=405),
    Page("server-error", path(BOOM), who="anonymous", status=500),
    Page("docs", path("/docs"), who="anonymous"),
    Page("sandbox", lambda site: site.instance() and "/sandbox"),
    Page(
        "reference",
        path("/docs/reference"),
        who="anonymous",
        then=swagger_ready,
        known={
            "nested-interactive": "Swagger UI puts its copy button inside each operation's toggle button",
            "select-name": "Swagger UI's servers <select> has no label",
        },
    ),
]


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """app over real HTTP on a free loopback port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def raise_for_the_test() -> str:
    """A view that fails like a bug would."""
    raise RuntimeError("layout-test internals")


def new_app(redis_url: str, data_dir: str) -> Any:
    """A fresh app on its own database; not TESTING, so errors reach the handlers as in production."""
    app = create_app(
        {
            "TESTING": False,
            "DATA_DIR": data_dir,
            "REDIS_URL": redis_url,
            "WHATSAPP_DRIVER": "simulator",
            "SECRET_KEY": "layout-test-secret",
            **FAST_RUNTIME,
        }
    )
    app.add_url_rule(BOOM, "layout_test_boom", raise_for_the_test)  # before the first request
    return app


@pytest.fixture(scope="module")
def sites(redis_url) -> Iterator[dict[str, Site]]:
    """Two apps for the whole module: "fresh" (no user ever) and "main" (the rest)."""
    flush_our_keys(redis_url)
    with tempfile.TemporaryDirectory(prefix="megamsg-layout-") as root, ExitStack() as stack:
        made: dict[str, Site] = {}
        for name in ("fresh", "main"):
            os.mkdir(f"{root}/{name}")
            app = new_app(redis_url, f"{root}/{name}")
            made[name] = Site(stack.enter_context(serving(app)), app)
        made["main"].user(ADMIN, is_admin=True)
        made["main"].user(EMPTY)
        yield made


@pytest.fixture(scope="module")
def contexts(browser, sites) -> Iterator[Callable[[str, int, str], Any]]:
    """One browser context per (who, width, scheme), logged in once and shared by that view's pages."""
    opened: dict[tuple[str, int, str], Any] = {}
    logs: dict[Any, RequestLog] = {}

    def get(who: str, width: int, scheme: str) -> Any:
        key = (who, width, scheme)
        if key not in opened:
            context = browser.new_context(
                viewport={"width": width, "height": WIDTHS[width]}, color_scheme=scheme
            )
            context.set_default_timeout(15_000)
            logs[context] = RequestLog(context)
            if "@" in who:
                page = context.new_page()
                page.goto(sites["main"].base + "/login")
                log_in(page, who)
                assert page.url.endswith("/instances"), page.url
                page.close()
            opened[key] = context
        return opened[key], logs[opened[key]]

    yield get
    for context in opened.values():
        context.close()


# Phone width in light in `make test`; the other three views with the slow tests (CI runs both).
@pytest.mark.parametrize(
    "scheme",
    [pytest.param(scheme, marks=pytest.mark.slow) if scheme == "dark" else scheme for scheme in SCHEMES],
)
@pytest.mark.parametrize(
    "width",
    [pytest.param(width, marks=pytest.mark.slow) if width != 390 else width for width in WIDTHS],
)
@pytest.mark.parametrize("row", PAGES, ids=[row.name for row in PAGES])
def test_page_layout_and_accessibility(row, width, scheme, sites, contexts):
    site = sites["fresh" if row.who == "fresh" else "main"]
    context, log = contexts(row.who, width, scheme)
    target = row.prepare(site)
    page = context.new_page()
    try:
        response = page.goto(site.base + target)
        assert response is not None
        if row.then:
            row.then(page)
        else:
            assert response.status == row.status, (response.status, page.url)
        if row.status >= 400:
            assert response.status == row.status
        name = f"layout-{row.name}-{width}-{scheme}"
        check_layout(page, name)
        assert_accessible(page, name, ignore=row.known)
        assert log.page_errors == []
    finally:
        page.close()


def test_error_pages_have_a_way_back_and_no_traceback(sites):
    """The 500 page says what happened, links back, and shows nothing of the exception."""
    import requests

    base = sites["main"].base
    answer = requests.get(base + BOOM, timeout=10)
    assert answer.status_code == 500
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "layout-test internals" not in answer.text and "Traceback" not in answer.text
    assert re.search(r'<a class="button" href="/">Go to the dashboard</a>', answer.text)
    missing = requests.get(base + "/no/such/page", timeout=10)
    assert missing.status_code == 404 and "Page not found" in missing.text


@pytest.mark.parametrize(
    "method,path,status,text",
    [
        ("get", "/no/such/page", 404, "Page not found"),
        ("get", "/logout", 405, "Not allowed"),
    ],
)
def test_error_pages_are_html_outside_the_api(client, method, path, status, text):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert text in response.get_data(as_text=True)
    if status == 405:
        assert "POST" in response.headers["Allow"]


def test_favicon_is_served_at_the_default_address(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert response.get_data().startswith(b"<svg")


@pytest.mark.parametrize(
    "stored,iso,exact",
    [
        ("2026-12-01T08:40:00+00:00", "2026-12-01T08:40:00+00:00", "2026-12-01 08:40:00 UTC"),
        ("2026-12-01 08:40:00", "2026-12-01T08:40:00+00:00", "2026-12-01 08:40:00 UTC"),
        ("2026-12-01T10:40:00+02:00", "2026-12-01T08:40:00+00:00", "2026-12-01 08:40:00 UTC"),
        (1796114400, "2026-12-01T08:40:00+00:00", "2026-12-01 08:40:00 UTC"),
        (None, "", ""),
        ("not a time", "not a time", "not a time"),
    ],
)
def test_time_filters(app, stored, iso, exact):
    with app.app_context():
        assert app.jinja_env.from_string("{{ t|isotime }}").render(t=stored) == iso
        assert app.jinja_env.from_string("{{ t|exacttime }}").render(t=stored) == exact
        tag = app.jinja_env.from_string("{{ t|timetag }}").render(t=stored)
    parsed = iso.startswith("2026")
    assert tag == (f'<time datetime="{iso}" data-relative>{exact}</time>' if parsed else exact)


def test_relative_times_read_as_ago_with_the_exact_time_on_hover(sites, contexts):
    site = sites["main"]
    instance = site.instance()
    context, log = contexts(ADMIN, 1280, "light")
    page = context.new_page()
    try:
        page.goto(f"{site.base}/instances/{instance['id']}/webhooks")
        first = page.locator("#deliveries time[data-relative]").first
        expect(first).to_have_text(re.compile(r"^(just now|\d+ (sec|min)\.? ago)$"))
        assert re.search(r"\d{4}", first.get_attribute("title") or "")
        assert log.page_errors == []
    finally:
        page.close()
