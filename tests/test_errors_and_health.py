"""Error shape under /api/ and /healthz."""

import pytest

from megamsg.web import create_app
from tests.conftest import auth_headers


def test_malformed_json_is_400_json(client, make_instance):
    instance, token = make_instance()
    response = client.post(
        "/api/whatsapp/messages/send",
        data="{not json",
        headers={**auth_headers(instance["id"], token), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json() == {"ok": False, "message": "Malformed JSON body."}


@pytest.mark.parametrize(
    "method,path,status,message",
    [
        ("get", "/api/nowhere", 404, "Not found."),
        ("delete", "/api/whatsapp/instance", 405, "Method not allowed."),
    ],
)
def test_error_shape(client, method, path, status, message):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.get_json() == {"ok": False, "message": message}


def test_body_too_large_is_413_json(config_overrides, make_instance):
    instance, token = make_instance()
    app = create_app({**config_overrides, "MAX_DOCUMENT_BYTES": 1000})
    response = app.test_client().post(
        "/api/whatsapp/messages/send",
        data=b"x" * 200_000,
        headers={**auth_headers(instance["id"], token), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.get_json() == {"ok": False, "message": "Request body too large."}


def test_unexpected_exception_is_500_json_without_traceback(config_overrides, caplog):
    app = create_app({**config_overrides, "TESTING": False})

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/boom")
    assert response.status_code == 500
    assert response.get_json() == {"ok": False, "message": "Internal server error."}
    assert "secret internals" not in response.get_data(as_text=True)
    assert "secret internals" in caplog.text  # the log has it


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "redis": "ok", "database": "ok"}


def test_healthz_503_when_redis_unreachable(config_overrides):
    app = create_app({**config_overrides, "REDIS_URL": "redis://127.0.0.1:1/0"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["ok"] is False and body["redis"].startswith("error") and body["database"] == "ok"
    assert "redis" in body["message"]
