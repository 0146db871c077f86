"""The simulator's whole session lifecycle over real HTTP, through the real runner."""

import requests

from tests.conftest import auth_headers, wait_for


def api(base: str, headers: dict, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, base + path, headers=headers, timeout=15, **kwargs)


def status_of(base: str, headers: dict) -> str:
    return api(base, headers, "GET", "/api/whatsapp/instance").json()["status"]


def test_lifecycle_qr_scan_disconnect_reconnect_logout(live_server, make_instance, supervisors):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    assert status_of(live_server, headers) == "starting"  # no runner yet
    supervisors.start()

    wait_for(lambda: status_of(live_server, headers) == "qr", 20, what="qr status")
    first = api(live_server, headers, "GET", "/api/whatsapp/instance/qr").json()
    assert first["ok"] is True and first["qr"].startswith("2@") and first["svg"].startswith("<svg")
    # QR payloads rotate (every second in tests, like WhatsApp's ~20 s).
    wait_for(
        lambda: (
            api(live_server, headers, "GET", "/api/whatsapp/instance/qr").json().get("qr")
            not in (None, first["qr"])
        ),
        10,
        what="QR rotation",
    )

    scan = api(
        live_server,
        headers,
        "POST",
        "/api/simulator/scan",
        json={"phone_number": "+20 123 456 7890", "push_name": "Amal"},
    )
    assert scan.status_code == 200, scan.text
    info = api(live_server, headers, "GET", "/api/whatsapp/instance").json()
    assert info["status"] == "connected"
    assert info["phone_number"] == "+201234567890" and info["push_name"] == "Amal"
    no_qr = api(live_server, headers, "GET", "/api/whatsapp/instance/qr")
    assert no_qr.status_code == 409 and no_qr.json() == {
        "ok": False,
        "message": "There is no QR code to scan (status: connected).",
    }

    assert api(live_server, headers, "POST", "/api/simulator/disconnect").status_code == 200
    assert status_of(live_server, headers) == "disconnected"
    assert api(live_server, headers, "POST", "/api/simulator/reconnect").status_code == 200
    assert status_of(live_server, headers) == "connected"

    assert api(live_server, headers, "POST", "/api/whatsapp/instance/logout").status_code == 200
    wait_for(lambda: status_of(live_server, headers) == "qr", 10, what="new QR after logout")
    assert api(live_server, headers, "GET", "/api/whatsapp/instance/qr").status_code == 200


def test_linked_session_survives_runner_restart(live_server, make_instance, supervisors):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    first = supervisors.start()
    wait_for(lambda: status_of(live_server, headers) == "qr", 20)
    api(live_server, headers, "POST", "/api/simulator/scan", json={"phone_number": "+201234567890"})
    first.terminate()
    assert first.wait(timeout=12) == 0
    supervisors.start()
    wait_for(lambda: status_of(live_server, headers) == "connected", 20, what="reconnect without a new scan")


def test_pair_code_while_qr_is_shown(live_server, make_instance, supervisors):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    supervisors.start()
    wait_for(lambda: status_of(live_server, headers) == "qr", 20)
    response = api(
        live_server,
        headers,
        "POST",
        "/api/whatsapp/instance/pair-code",
        json={"phone_number": "+201234567890"},
    )
    assert response.status_code == 200
    code = response.json()["code"]
    assert len(code) == 9 and code[4] == "-"
    bad = api(live_server, headers, "POST", "/api/whatsapp/instance/pair-code", json={"phone_number": "12"})
    assert bad.status_code == 422 and bad.json()["message"].startswith("phone_number")


def test_control_without_runner_is_502(client, make_instance):
    instance, token = make_instance()
    response = client.post("/api/simulator/disconnect", headers=auth_headers(instance["id"], token))
    assert response.status_code == 502
    assert response.get_json() == {
        "ok": False,
        "message": "WhatsApp session is not running yet (status: starting). Try again shortly.",
    }


def test_simulator_endpoints_404_with_real_driver(config_overrides, make_instance):
    from megamsg.web import create_app

    instance, token = make_instance()
    app = create_app({**config_overrides, "WHATSAPP_DRIVER": "neonize"})
    response = app.test_client().get("/api/simulator/outbox", headers=auth_headers(instance["id"], token))
    assert response.status_code == 404
    assert response.get_json() == {"ok": False, "message": "Not found."}
