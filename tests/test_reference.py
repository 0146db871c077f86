"""The interactive API reference (/docs/reference): vendored Swagger UI on /api/openapi.json."""

import hashlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from megamsg.web.docs.reference import SWAGGER_UI
from tests.browser_pages import check_layout, stored_anywhere
from tests.processes import REPO

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
VENDOR = Path(REPO, "static", SWAGGER_UI)


def operations(client) -> set[tuple[str, str]]:
    document = client.get("/api/openapi.json").get_json()
    return {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def test_every_operation_is_shown(page, log, live_server, client):
    expected = operations(client)
    assert len(expected) > 10
    page.goto(f"{live_server}/docs/reference")
    expect(page.locator(".opblock")).to_have_count(len(expected))
    shown = page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(block => [
            block.querySelector('.opblock-summary-method').textContent,
            block.querySelector('.opblock-summary-path').dataset.path])""",
    )
    assert sorted(map(tuple, shown)) == sorted(expected)
    assert f"{live_server}/static/{SWAGGER_UI}/swagger-ui-bundle.js" in log.urls
    assert log.off_origin(live_server) == [] and log.page_errors == []


def test_try_it_out_calls_this_server_and_keeps_nothing(page, log, live_server, make_instance):
    instance, token = make_instance()
    page.goto(f"{live_server}/docs/reference")
    page.click("button.authorize")
    page.fill(".auth-container input", token)
    page.click(".auth-btn-wrapper button.authorize")
    page.click(".auth-btn-wrapper button.btn-done")
    operation = page.locator("#operations-instance-getInstance")
    operation.locator(".opblock-summary-control").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("tr[data-param-name='X-Instance-Id'] input").fill(instance["id"])
    with page.expect_response(re.compile(r"/api/whatsapp/instance$")) as answer:
        operation.locator("button.execute").click()
    assert answer.value.status == 200 and answer.value.json()["instance_id"] == instance["id"]
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    assert log.off_origin(live_server) == [] and log.page_errors == []
    assert stored_anywhere(page, token) == []
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0


@pytest.mark.parametrize("width", [390, 1280])
def test_layout_at_phone_and_desktop_width(page, log, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server}/docs/reference")
    page.wait_for_selector(".opblock")
    check_layout(page, f"reference-{width}")
    # Opened up: the send operation's parameters and responses, and the send request's schema.
    page.click("#operations-messages-sendMessage .opblock-summary-control")
    page.wait_for_selector("#operations-messages-sendMessage .responses-table")
    page.click(".models-control")
    schema = page.locator(".models.is-open article[data-json-schema-level='0']").filter(
        has=page.locator(".json-schema-2020-12__title", has_text=re.compile("^SendRequest$"))
    )
    schema.locator(".json-schema-2020-12-expand-deep-button").first.click()
    page.wait_for_selector(".models .json-schema-2020-12-body:not(.json-schema-2020-12-body--collapsed)")
    check_layout(page, f"reference-{width}-open")
    assert log.off_origin(live_server) == [] and log.page_errors == []


def test_docs_pages_allow_only_their_own_origin(client):
    for path in ("/docs", "/docs/reference", "/sandbox"):
        policy = client.get(path).headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy, path


def test_vendored_files_are_the_recorded_ones_and_served(client):
    sums = dict(
        reversed(line.split("  ", 1)) for line in (VENDOR / "SHA256SUMS").read_text().splitlines() if line
    )
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"} <= set(sums)
    for name, digest in sums.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
        response = client.get(f"/static/{SWAGGER_UI}/{name}")
        assert response.status_code == 200, name
        response.close()
    version = SWAGGER_UI.rsplit("-", 1)[1]
    assert f"| {version} |" in Path(REPO, "static", "vendor", "README.md").read_text()
