"""Number checks and group listing (issue 13): through the real stack with the simulator, and neonize's answers."""

import importlib
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from megamsg.delivery.events import message_payload
from megamsg.runtime.drivers.base import OutgoingMessage
from megamsg.runtime.drivers.neonize.events import message_event_from
from megamsg.runtime.drivers.neonize.features import group_list, number_results
from megamsg.runtime.drivers.neonize.sending import checked_recipient, recipient_server
from tests.conftest import auth_headers, outbox, wait_for

_PROTO_DIR = str(Path(importlib.util.find_spec("neonize").submodule_search_locations[0]) / "proto")
if _PROTO_DIR not in sys.path:
    sys.path.insert(0, _PROTO_DIR)
P = importlib.import_module("Neonize_pb2")

CHECK = "/api/whatsapp/contacts/check"
GROUPS = [
    {"id": "120363000000000002@g.us", "subject": "Team", "participants": 3},
    {"id": "120363000000000001@g.us", "subject": "Family", "participants": 12},
]


def test_numbers_and_groups_through_the_simulated_phone(client, connected_instance):
    _, _, headers = connected_instance
    declared = client.post(
        "/api/simulator/numbers",
        headers=headers,
        json={"phone_numbers": ["+201234567891"], "on_whatsapp": False},
    )
    assert declared.status_code == 200, declared.get_data(as_text=True)
    answer = client.post(
        CHECK,
        headers=headers,
        json={"phone_numbers": ["+20 123 456 7890", "+201234567891", "not a number", "00201234567890"]},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    on, off, invalid, again = answer.get_json()["results"]
    assert on == {
        "input": "+20 123 456 7890",
        "valid": True,
        "phone_number": "+201234567890",
        "on_whatsapp": True,
        "wa_id": "201234567890@s.whatsapp.net",
    }
    assert off["on_whatsapp"] is False and off["wa_id"] is None and off["phone_number"] == "+201234567891"
    assert invalid["valid"] is False and invalid["on_whatsapp"] is None
    assert invalid["error"].startswith("phone_number ")
    assert again == {**on, "input": "00201234567890"}

    assert client.get("/api/whatsapp/groups", headers=headers).get_json() == {"ok": True, "groups": []}
    assert client.put("/api/simulator/groups", headers=headers, json={"groups": GROUPS}).status_code == 200
    listed = client.get("/api/whatsapp/groups", headers=headers)
    assert listed.status_code == 200 and listed.get_json()["groups"] == sorted(GROUPS, key=lambda g: g["id"])

    assert client.post("/api/simulator/disconnect", headers=headers).status_code == 200
    for response in (
        client.post(CHECK, headers=headers, json={"phone_numbers": ["+201234567890"]}),
        client.get("/api/whatsapp/groups", headers=headers),
    ):
        assert response.status_code == 502
        assert "not connected" in response.get_json()["message"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "phone_numbers is required."),
        ({"phone_numbers": "+201234567890"}, "phone_numbers must be a list of phone numbers (strings)."),
        ({"phone_numbers": [5]}, "phone_numbers must be a list of phone numbers (strings)."),
        ({"phone_numbers": []}, "phone_numbers must hold at least one number."),
        ({"phone_numbers": ["+201234567890"] * 51}, "phone_numbers may hold at most 50 numbers per call."),
    ],
)
def test_number_check_requests_are_validated(client, make_instance, body, message):
    instance, token = make_instance()
    answer = client.post(CHECK, headers=auth_headers(instance["id"], token), json=body)
    assert answer.status_code == 422 and answer.get_json() == {"ok": False, "message": message}


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("POST", CHECK, {"phone_numbers": ["+201234567890"]}),
        ("GET", "/api/whatsapp/groups", None),
    ],
)
def test_without_a_connected_session_the_answer_is_502(client, make_instance, method, path, body):
    instance, token = make_instance()
    answer = client.open(path, method=method, headers=auth_headers(instance["id"], token), json=body)
    assert answer.status_code == 502 and "not connected" in answer.get_json()["message"]


def test_a_check_of_only_invalid_numbers_needs_no_session(client, make_instance):
    instance, token = make_instance()
    answer = client.post(CHECK, headers=auth_headers(instance["id"], token), json={"phone_numbers": ["123"]})
    assert answer.status_code == 200
    assert [entry["valid"] for entry in answer.get_json()["results"]] == [False]


@pytest.mark.parametrize(
    "path, body, message",
    [
        ("/api/simulator/numbers", {"phone_numbers": ["x"], "on_whatsapp": True}, "phone_numbers "),
        ("/api/simulator/numbers", {"phone_numbers": ["+201234567890"]}, "on_whatsapp is required."),
        ("/api/simulator/groups", {"groups": [{**GROUPS[0], "id": "12@s.whatsapp.net"}]}, "groups must be a"),
        ("/api/simulator/groups", {"groups": [{**GROUPS[0], "participants": -1}]}, "groups must be"),
    ],
)
def test_simulator_declarations_are_validated(client, make_instance, path, body, message):
    instance, token = make_instance()
    method = "PUT" if path.endswith("groups") else "POST"
    answer = client.open(path, method=method, headers=auth_headers(instance["id"], token), json=body)
    assert answer.status_code == 422 and answer.get_json()["message"].startswith(message)


def _jid(user: str, server: str = "s.whatsapp.net"):
    return P.JID(User=user, Server=server, Device=0, RawAgent=0, Integrator=0, IsEmpty=False)


def _roundtrip(message):
    """The bytes → FromString trip neonize makes with every answer from Go."""
    return type(message).FromString(message.SerializePartialToString())


def test_neonize_number_answers_are_matched_by_number_not_order():
    responses = [
        _roundtrip(P.IsOnWhatsAppResponse(Query="+201234567891", IsIn=False, JID=_jid("201234567891"))),
        _roundtrip(P.IsOnWhatsAppResponse(Query="+201234567890", IsIn=True, JID=_jid("201234567890"))),
    ]
    assert number_results(["+201234567890", "+201234567891", "+201234567892"], responses) == [
        {"phone_number": "+201234567890", "on_whatsapp": True, "wa_id": "201234567890@s.whatsapp.net"},
        {"phone_number": "+201234567891", "on_whatsapp": False, "wa_id": None},
        {"phone_number": "+201234567892", "on_whatsapp": False, "wa_id": None},
    ]


def test_neonize_joined_groups_become_id_subject_and_count():
    member = P.GroupParticipant(JID=_jid("201234567890"))
    groups = [
        _roundtrip(
            P.GroupInfo(
                JID=_jid("120363000000000002", "g.us"),
                GroupName=P.GroupName(Name="Team"),
                Participants=[member, member, member],
            )
        ),
        _roundtrip(P.GroupInfo(JID=_jid("120363000000000001", "g.us"), GroupName=P.GroupName(Name="Family"))),
    ]
    assert group_list(groups) == [
        {"id": "120363000000000001@g.us", "subject": "Family", "participants": 0},
        {"id": "120363000000000002@g.us", "subject": "Team", "participants": 3},
    ]


GROUP = GROUPS[1]["id"]
SEND = "/api/whatsapp/messages/send"


@pytest.fixture
def private_urls(app):
    """Webhooks to the loopback receiver are allowed (set before any worker starts)."""
    app.config["ALLOW_PRIVATE_URLS"] = True


def delivered(receiver, kind: str) -> list[dict]:
    """The payloads of that type the receiver got so far."""
    with receiver.lock:
        bodies = [json.loads(request["body"]) for request in receiver.requests]
    return [body for body in bodies if body["type"] == kind]


def test_groups_send_and_receive(private_urls, client, connected_instance, scripted_receiver):
    _, _, headers = connected_instance
    hook = client.put("/api/whatsapp/instance/webhook", headers=headers, json={"url": scripted_receiver.url})
    assert hook.status_code == 200
    refused = client.post(SEND, headers=headers, json={"group_id": GROUP, "text": "anyone?"})
    assert refused.status_code == 502 and "not in the group" in refused.get_json()["message"]

    assert client.put("/api/simulator/groups", headers=headers, json={"groups": GROUPS}).status_code == 200
    key = {**headers, "Idempotency-Key": "group-1"}
    sent = client.post(SEND, headers=key, json={"group_id": GROUP, "text": "Hello, family"})
    assert sent.status_code == 200, sent.get_data(as_text=True)
    answer = sent.get_json()
    assert (answer["to"], answer["type"], answer["status"]) == (GROUP, "text", "sent")
    again = client.post(SEND, headers=key, json={"group_id": GROUP, "text": "Hello, family"})
    assert again.get_json() == answer and again.headers["Idempotent-Replayed"] == "true"
    assert [(m["to"], m["text"]) for m in outbox(client, headers)] == [(GROUP, "Hello, family")]
    logged = client.get(f"/api/whatsapp/messages/{answer['id']}", headers=headers).get_json()["message"]
    assert logged["to"] == GROUP and logged["status"] == "sent"

    incoming = client.post(
        "/api/simulator/incoming",
        headers=headers,
        json={"from": "+201234567891", "text": "Hi all", "is_group": True, "chat": GROUP},
    )
    assert incoming.status_code == 200
    [payload] = wait_for(
        lambda: delivered(scripted_receiver, "message"), 20, what="the group message webhook"
    )
    message = payload["message"]
    assert (message["from"], message["is_group"], message["group_id"]) == ("201234567891", True, GROUP)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"text": "x"}, "phone_number is required: an international number"),
        ({"phone_number": None, "group_id": None, "text": "x"}, "phone_number is required"),
        ({"phone_number": "+201234567890", "group_id": GROUP, "text": "x"}, "group_id cannot be given with"),
        ({"group_id": "201234567890@s.whatsapp.net", "text": "x"}, "group_id must be a WhatsApp group id"),
        ({"group_id": 120363000000000001, "text": "x"}, "group_id must be a string"),
        ({"group_id": GROUP}, "text is required"),
    ],
)
def test_group_sends_are_validated(client, make_instance, body, message):
    instance, token = make_instance()
    answer = client.post(SEND, headers=auth_headers(instance["id"], token), json=body)
    assert answer.status_code == 422 and answer.get_json()["message"].startswith(message)


@pytest.mark.parametrize(
    "to, user, server",
    [("+20 123-456-7890", "201234567890", "s.whatsapp.net"), (GROUP, GROUP.split("@")[0], "g.us")],
)
def test_neonize_recipient_of_a_number_or_a_group(to, user, server):
    message = OutgoingMessage(id="m1", to=to, type="text", text="Hi")
    assert (checked_recipient(message), recipient_server(message)) == (user, server)


def test_neonize_group_message_carries_the_group_and_the_sender():
    sender, group = _jid("201234567891"), _jid("120363000000000001", "g.us")
    source = P.MessageSource(Chat=group, Sender=sender, IsFromMe=False, IsGroup=True)
    ev = P.Message(
        Info=P.MessageInfo(ID="3EB0GRP", Pushname="Ann", Timestamp=1714650000, MessageSource=source)
    )
    ev.Message.conversation = "Hi all"
    event = message_event_from(P.Message.FromString(ev.SerializePartialToString()))
    assert (event["from"], event["is_group"], event["chat"]) == ("201234567891", True, GROUP)
    payload = message_payload({"wa_id": "3EB0GRP"}, event)
    assert (payload["message"]["group_id"], payload["message"]["from"]) == (GROUP, "201234567891")
