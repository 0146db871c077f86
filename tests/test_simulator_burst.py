"""POST /api/simulator/incoming-burst: the simulated network delivers many messages by itself."""

import pytest

from megamsg.store.db import connect
from tests.conftest import auth_headers, wait_for

BURST = "/api/simulator/incoming-burst"


@pytest.mark.parametrize(
    "body,says",
    [
        ({"count": 3}, "from is required"),
        ({"from": "+201234567890"}, "count is required"),
        ({"from": "+201234567890", "count": 0}, "count must be between 1 and 1000"),
        ({"from": "+201234567890", "count": 1001}, "count must be between 1 and 1000"),
        (
            {"from": "+201234567890", "count": 2, "interval_ms": 10_001},
            "interval_ms must be between 0 and 10000",
        ),
        ({"from": "+201234567890", "count": 2, "text": ""}, "text"),
    ],
)
def test_bad_bursts_are_a_422_naming_the_field(client, make_instance, body, says):
    instance, token = make_instance()
    answer = client.post(BURST, headers=auth_headers(instance["id"], token), json=body)
    assert answer.status_code == 422
    assert answer.get_json()["ok"] is False and answer.get_json()["message"].startswith(says)


def test_a_burst_arrives_in_order_as_ordinary_incoming_messages(app, client, connected_instance):
    instance, _, headers = connected_instance
    answer = client.post(
        BURST, headers=headers, json={"from": "+201234567890", "text": "hello", "count": 5, "interval_ms": 20}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    ids = answer.get_json()["ids"]

    def stored() -> list[tuple[str, str]]:
        database = connect(app.config["DATABASE"])
        try:
            query = "SELECT wa_id, text FROM messages WHERE instance_id = ? AND direction = 'in' ORDER BY seq"
            return [tuple(row) for row in database.execute(query, [instance["id"]])]
        finally:
            database.conn.close()

    wait_for(lambda: len(stored()) == 5, 20, what="five messages stored")
    assert stored() == list(zip(ids, [f"hello {n}" for n in range(1, 6)], strict=True))


def test_a_burst_needs_a_connected_phone(client, make_instance, supervisors):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    supervisors.start()
    wait_for(
        lambda: client.get("/api/whatsapp/instance", headers=headers).get_json()["status"] == "qr",
        20,
        what="a QR",
    )
    answer = client.post(BURST, headers=headers, json={"from": "+201234567890", "count": 2})
    assert answer.status_code == 409 and "not connected" in answer.get_json()["message"]
