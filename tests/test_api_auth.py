"""The 401 matrix: every failure mode answers the same body."""

import pytest

from megamsg.store.db import connect
from megamsg.store.instances import delete_instance, rotate_token

UNAUTHORIZED = {"ok": False, "message": "Unauthorized."}


@pytest.fixture
def two_instances(make_instance):
    return make_instance("One"), make_instance("Two")


def headers_for(case: str, app, one, two) -> dict:
    (first, first_token), (_second, second_token) = one, two
    if case == "no authorization":
        return {"X-Instance-Id": first["id"]}
    if case == "not bearer":
        return {"Authorization": f"Basic {first_token}", "X-Instance-Id": first["id"]}
    if case == "empty token":
        return {"Authorization": "Bearer ", "X-Instance-Id": first["id"]}
    if case == "wrong token":
        return {"Authorization": "Bearer " + "0" * 64, "X-Instance-Id": first["id"]}
    if case == "no instance id":
        return {"Authorization": f"Bearer {first_token}"}
    if case == "unknown instance":
        return {"Authorization": f"Bearer {first_token}", "X-Instance-Id": "inst_doesnotexist"}
    if case == "another instance's token":
        return {"Authorization": f"Bearer {second_token}", "X-Instance-Id": first["id"]}
    database = connect(app.config["DATABASE"])
    if case == "deleted instance":
        delete_instance(database, first["id"])
        return {"Authorization": f"Bearer {first_token}", "X-Instance-Id": first["id"]}
    if case == "old token after rotation":
        rotate_token(database, first["id"])
        return {"Authorization": f"Bearer {first_token}", "X-Instance-Id": first["id"]}
    raise AssertionError(case)


CASES = [
    "no authorization",
    "not bearer",
    "empty token",
    "wrong token",
    "no instance id",
    "unknown instance",
    "another instance's token",
    "deleted instance",
    "old token after rotation",
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    "method,path", [("get", "/api/whatsapp/instance"), ("post", "/api/whatsapp/messages/send")]
)
def test_unauthorized_matrix(app, client, two_instances, case, method, path):
    headers = headers_for(case, app, *two_instances)
    response = getattr(client, method)(
        path, headers=headers, json={"phone_number": "+201234567890", "text": "x"}
    )
    assert response.status_code == 401
    assert response.get_json() == UNAUTHORIZED


def test_valid_credentials_pass(client, make_instance):
    instance, token = make_instance("One")
    response = client.get(
        "/api/whatsapp/instance",
        headers={"Authorization": f"Bearer {token}", "X-Instance-Id": instance["id"]},
    )
    assert response.status_code == 200
    assert response.get_json()["instance_id"] == instance["id"]
