"""Issue 11 item 9: no page can be framed, nothing is sniffed, no inline script can run."""

import pytest

from tests.conftest import login


@pytest.mark.parametrize(
    ("path", "logged_in", "html"),
    [
        ("/login", False, True),
        ("/instances", True, True),
        ("/account", True, True),
        ("/no/such/page", True, True),
        ("/docs", False, True),
        ("/healthz", False, False),
        ("/api/whatsapp/instance", False, False),
    ],
)
def test_every_answer_forbids_framing_and_sniffing(client, make_user, path, logged_in, html):
    if logged_in:
        make_user("owner@example.com")
        login(client, "owner@example.com")
    answer = client.get(path)
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    policy = answer.headers.get("Content-Security-Policy", "")
    if html:
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no other origin
        assert "frame-ancestors" in directives
    else:
        assert answer.mimetype == "application/json"
