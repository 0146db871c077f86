"""Issue 11 item 3: while Redis is away, requests get a 503 in the error shape, never a 500."""

import pytest

from tests.conftest import auth_headers, login


@pytest.fixture
def config_overrides(config_overrides, tmp_path):
    """Redis at a socket where nothing listens, as just after the server died."""
    return {**config_overrides, "REDIS_URL": f"unix://{tmp_path}/gone.sock"}


def test_the_api_answers_503_with_retry_after(app, client, make_instance):
    instance, token = make_instance()
    answer = client.get("/api/whatsapp/instance", headers=auth_headers(instance["id"], token))
    assert answer.status_code == 503
    assert answer.get_json() == {"ok": False, "message": answer.get_json()["message"]}
    assert "Redis" in answer.get_json()["message"] and answer.headers["Retry-After"] == "5"
    sent = client.post(
        "/api/whatsapp/messages/send",
        headers=auth_headers(instance["id"], token),
        json={"phone_number": "+201234567890", "text": "hi"},
    )
    assert sent.status_code == 503 and sent.get_json()["ok"] is False


def test_a_dashboard_login_answers_a_styled_503(client, make_user):
    make_user("owner@example.com")
    form = client.get("/login")
    assert form.status_code == 200  # the page itself needs no Redis
    page = login(client, "owner@example.com")  # the login throttle does
    assert page.status_code == 503
    html = page.get_data(as_text=True)
    assert "Back in a moment" in html and "Traceback" not in html
