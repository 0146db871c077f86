"""Replies, reactions and locations on send (issue 13 items 4-6): the real stack with the simulator, and neonize's calls."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from megamsg.runtime.drivers.base import DriverError, OutgoingMessage
from megamsg.runtime.drivers.neonize.events import message_event_from
from megamsg.runtime.drivers.neonize.features import read_call
from megamsg.runtime.drivers.neonize.message_builders import context_info, quoted_event
from megamsg.runtime.drivers.neonize.protos import proto
from megamsg.runtime.drivers.neonize.sending import checked_recipient, send_call
from megamsg.store import message_log
from tests.conftest import auth_headers, login, outbox, wait_for
from tests.test_neonize_driver import RecordingClient

REPO = Path(__file__).resolve().parents[1]
P = proto("Neonize_pb2")
E2E = proto("waE2E.WAWebProtobufsE2E_pb2")
SEND = "/api/whatsapp/messages/send"
PEER = "+201234567890"
GROUP = "120363000000000001@g.us"


def arrived(client, headers, text: str) -> dict:
    """An incoming message from the simulated network, once the message log holds it."""
    injected = client.post("/api/simulator/incoming", headers=headers, json={"from": PEER, "text": text})
    assert injected.status_code == 200, injected.get_data(as_text=True)
    path = f"/api/whatsapp/messages/{injected.get_json()['id']}"
    found = wait_for(lambda: client.get(path, headers=headers).get_json().get("ok"), 20, what="the log")
    found = client.get(path, headers=headers).get_json()["message"]
    return {"id": injected.get_json()["id"], "message_id": found["id"]}


def _send(client, headers, body, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(SEND, headers={**headers, **extra}, json=body)


def test_replies_reactions_and_locations_reach_the_simulated_network(client, connected_instance):
    _, _, headers = connected_instance
    incoming = arrived(client, headers, "Where are you?")
    first = _send(client, headers, {"phone_number": PEER, "text": "On my way"}).get_json()
    assert first["status"] == "sent"

    # A reply to the incoming message by WhatsApp's id, and one to our own message by MegaMsg's id.
    reply = _send(client, headers, {"phone_number": PEER, "text": "Here", "reply_to": incoming["id"]}, "r-1")
    assert reply.status_code == 200, reply.get_data(as_text=True)
    again = _send(client, headers, {"phone_number": PEER, "text": "Here", "reply_to": incoming["id"]}, "r-1")
    assert again.get_json() == reply.get_json() and again.headers["Idempotent-Replayed"] == "true"
    place = {
        "phone_number": PEER,
        "type": "location",
        "latitude": 30.0444,
        "longitude": 31.2357,
        "name": "Tahrir Square",
        "address": "Cairo",
        "reply_to": first["id"],
    }
    located = _send(client, headers, place, "l-1")
    assert located.status_code == 200 and located.get_json()["type"] == "location"
    reaction = {"phone_number": PEER, "type": "reaction", "message_id": incoming["id"], "emoji": "👍"}
    reacted = _send(client, headers, reaction, "x-1")
    assert reacted.status_code == 200 and reacted.get_json()["type"] == "reaction"
    removed = _send(client, headers, {**reaction, "emoji": "", "reply_to": first["id"]})
    assert removed.status_code == 200 and removed.get_json()["ignored_fields"] == ["reply_to"]

    sent = outbox(client, headers)
    assert [entry["type"] for entry in sent] == ["text", "text", "location", "reaction", "reaction"]
    assert "reply_to" not in sent[0] and sent[1]["reply_to"] == incoming["id"]
    assert sent[2]["reply_to"] == first["id"]
    assert sent[2]["location"] == {
        "latitude": 30.0444,
        "longitude": 31.2357,
        "name": "Tahrir Square",
        "address": "Cairo",
    }
    assert [entry["reaction"] for entry in sent[3:]] == [
        {"message_id": incoming["id"], "emoji": "👍"},
        {"message_id": incoming["id"], "emoji": ""},
    ]

    logged = client.get(f"/api/whatsapp/messages/{reply.get_json()['id']}", headers=headers).get_json()
    assert logged["message"]["reply_to"]["id"] == incoming["id"]
    assert logged["message"]["reply_to"]["message_id"] == incoming["message_id"]
    logged = client.get(f"/api/whatsapp/messages/{located.get_json()['id']}", headers=headers).get_json()
    assert logged["message"]["location"]["name"] == "Tahrir Square" and logged["message"]["status"] == "sent"
    logged = client.get(f"/api/whatsapp/messages/{reacted.get_json()['id']}", headers=headers).get_json()
    assert logged["message"]["reaction"]["emoji"] == "👍" and logged["message"]["type"] == "reaction"

    # A scheduled reply still quotes its message when the scheduler queues it (the log carries it).
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    later = _send(
        client, headers, {"phone_number": PEER, "text": "Later", "reply_to": incoming["id"], "send_at": soon}
    )
    assert later.status_code == 202 and later.get_json()["status"] == "scheduled"
    left = wait_for(
        lambda: [m for m in outbox(client, headers) if m["text"] == "Later"], 30, what="the scheduled reply"
    )
    assert left[0]["reply_to"] == incoming["id"]

    assert client.post("/api/simulator/disconnect", headers=headers).status_code == 200
    offline = _send(client, headers, {**reaction, "emoji": "❤️"})
    assert offline.status_code == 502 and "not connected" in offline.get_json()["message"]


LOCATION = {"phone_number": PEER, "type": "location", "latitude": 30.0, "longitude": 31.0}
REACTION = {"phone_number": PEER, "type": "reaction", "message_id": "3EB0NOTHERE", "emoji": "👍"}


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"phone_number": PEER, "text": "x", "reply_to": "3EB0NOTHERE"},
            "reply_to names no message of this instance",
        ),
        ({"phone_number": PEER, "text": "x", "reply_to": ""}, "reply_to must not be empty."),
        ({"phone_number": PEER, "text": "x", "reply_to": 5}, "reply_to must be a string."),
        ({**LOCATION, "latitude": 91}, "latitude must be between -90 and 90."),
        ({**LOCATION, "longitude": -180.5}, "longitude must be between -180 and 180."),
        ({**LOCATION, "latitude": "30"}, "latitude must be a number."),
        ({key: value for key, value in LOCATION.items() if key != "longitude"}, "longitude is required"),
        ({**LOCATION, "text": "here"}, "text is not for type location"),
        ({**LOCATION, "name": 5}, "name must be a string."),
        ({**LOCATION, "reply_to": "3EB0NOTHERE"}, "reply_to names no message"),
        (REACTION, "message_id names no message of this instance"),
        ({**REACTION, "message_id": ""}, "message_id must not be empty."),
        ({key: value for key, value in REACTION.items() if key != "emoji"}, "emoji is required"),
        ({**REACTION, "emoji": "👍" * 40}, "emoji must be at most 32 characters."),
        ({**REACTION, "caption": "x"}, "caption is not for type reaction"),
        (
            {**REACTION, "type": "poll"},
            "type must be one of: text, image, audio, video, document, location, reaction.",
        ),
    ],
)
def test_replies_reactions_and_locations_are_validated(client, make_instance, body, message):
    instance, token = make_instance()
    answer = client.post(SEND, headers=auth_headers(instance["id"], token), json=body)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.get_json()["ok"] is False and answer.get_json()["message"].startswith(message)


def test_a_reaction_must_be_sent_to_the_chat_of_its_message_and_a_reply_to_a_sent_one(
    client, db, make_instance
):
    instance, token = make_instance()
    headers = auth_headers(instance["id"], token)
    incoming, _ = message_log.record_incoming(
        db, instance["id"], {"wa_id": "3EB0HI", "peer": PEER, "type": "text", "text": "Hi", "wa_timestamp": 1}
    )
    wrong = _send(
        client, headers, {**REACTION, "phone_number": "+201111111111", "message_id": incoming["id"]}
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["message"] == (
        f"message_id names a message of another chat ({PEER}), not of +201111111111."
    )
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    scheduled = _send(client, headers, {"phone_number": PEER, "text": "later", "send_at": tomorrow})
    assert scheduled.status_code == 202
    early = _send(
        client, headers, {"phone_number": PEER, "text": "x", "reply_to": scheduled.get_json()["id"]}
    )
    assert early.status_code == 422 and early.get_json()["message"] == (
        "reply_to names a message that has not reached WhatsApp (status: scheduled)."
    )
    count = db.execute("SELECT count(*) FROM messages WHERE instance_id = ?", [instance["id"]]).fetchone()[0]
    assert count == 2  # the incoming and the scheduled message: the refused sends recorded nothing


# --- neonize: the calls and protobufs a reply, a location and a reaction become ---------------------

OWN = "201000000001"
QUOTED_IN = {"id": "3EB0IN", "from_me": False, "chat": PEER, "sender": PEER, "type": "text", "text": "Hi"}
QUOTED_GROUP = {**QUOTED_IN, "chat": GROUP, "sender": "+201111111111", "type": "image", "text": "Look"}
QUOTED_OUT = {"id": "3EB0OUT", "from_me": True, "chat": PEER, "sender": None, "type": "text", "text": "Yo"}


def _jid(user, server="s.whatsapp.net"):
    return P.JID(User=user, Server=server, RawAgent=0, Device=0, Integrator=0, IsEmpty=False)


def _roundtrip(message):
    return type(message).FromString(message.SerializePartialToString())


@pytest.mark.parametrize(
    "quoted, chat, participant, content",
    [
        (
            QUOTED_IN,
            "201234567890@s.whatsapp.net",
            "201234567890@s.whatsapp.net",
            E2E.Message(conversation="Hi"),
        ),
        (QUOTED_GROUP, GROUP, "201111111111@s.whatsapp.net", E2E.Message(imageMessage={"caption": "Look"})),
        (QUOTED_OUT, "201234567890@s.whatsapp.net", f"{OWN}@s.whatsapp.net", E2E.Message(conversation="Yo")),
    ],
    ids=["incoming", "group-image", "our-own"],
)
def test_neonize_quoted_message_names_the_message_its_chat_and_sender(quoted, chat, participant, content):
    event = _roundtrip(quoted_event(quoted, _jid(OWN)))
    source = event.Info.MessageSource
    assert (event.Info.ID, event.Message) == (quoted["id"], content)
    assert (f"{source.Chat.User}@{source.Chat.Server}", f"{source.Sender.User}@{source.Sender.Server}") == (
        chat,
        participant,
    )
    assert source.IsFromMe is quoted["from_me"] and source.IsGroup is (chat == GROUP)
    info = context_info(quoted, _jid(OWN))
    assert (info.stanzaID, info.participant, info.quotedMessage) == (quoted["id"], participant, content)


@pytest.mark.parametrize("kind", ["text", "image", "audio", "video", "document"])
def test_neonize_replies_pass_the_quoted_message_to_neonizes_sender(kind):
    message = OutgoingMessage(
        id="m1",
        to=PEER,
        type=kind,
        text="Hi",
        media=b"x",
        file_name="a.pdf",
        mime_type="application/pdf",
        details={"reply_to": QUOTED_IN},
    )
    client = RecordingClient()
    assert send_call(client, "JID", message, _jid(OWN))().ID == "3EB0SENT"
    [(name, args, kwargs)] = client.calls
    if kind == "text":
        assert (name, args[0], kwargs["to"]) == ("reply_message", "Hi", "JID")
        quoted = args[1]
    else:
        assert (name, args[:2]) == (f"send_{kind}", ("JID", b"x"))
        quoted = kwargs["quoted"]
    assert quoted == quoted_event(QUOTED_IN, _jid(OWN))


def test_neonize_location_is_a_location_message_replying_when_asked():
    place = {"latitude": 30.0444, "longitude": 31.2357, "name": "Tahrir Square", "address": None}
    message = OutgoingMessage(
        id="m1", to=PEER, type="location", details={"location": place, "reply_to": QUOTED_OUT}
    )
    client = RecordingClient()
    send_call(client, "JID", message, _jid(OWN))()
    [(name, (to, sent), _)] = client.calls
    sent = _roundtrip(sent)
    assert (name, to) == ("send_message", "JID")
    pin = sent.locationMessage
    assert (pin.degreesLatitude, pin.degreesLongitude, pin.name, pin.HasField("address")) == (
        30.0444,
        31.2357,
        "Tahrir Square",
        False,
    )
    assert (pin.contextInfo.stanzaID, pin.contextInfo.participant) == ("3EB0OUT", f"{OWN}@s.whatsapp.net")


@pytest.mark.parametrize(
    "target, emoji, key",
    [
        ({**QUOTED_IN}, "👍", {"remoteJID": "201234567890@s.whatsapp.net", "fromMe": False, "ID": "3EB0IN"}),
        ({**QUOTED_OUT}, "", {"remoteJID": "201234567890@s.whatsapp.net", "fromMe": True, "ID": "3EB0OUT"}),
        (
            {**QUOTED_GROUP},
            "🎉",
            {
                "remoteJID": GROUP,
                "fromMe": False,
                "ID": "3EB0IN",
                "participant": "201111111111@s.whatsapp.net",
            },
        ),
    ],
    ids=["their-message", "removed-from-ours", "in-a-group"],
)
def test_neonize_reaction_keys_the_message_reacted_to(target, emoji, key):
    message = OutgoingMessage(
        id="m1", to=target["chat"], type="reaction", details={"reaction": {**target, "emoji": emoji}}
    )
    client = RecordingClient()
    send_call(client, "JID", message)()
    [(name, (_, sent), _)] = client.calls
    reaction = _roundtrip(sent).reactionMessage
    assert name == "send_message" and reaction.text == emoji and reaction.senderTimestampMS > 0
    assert {field.name: value for field, value in reaction.key.ListFields()} == key


@pytest.mark.parametrize("kind", ["location", "reaction"])
def test_neonize_refuses_a_location_or_reaction_without_its_details(kind):
    with pytest.raises(DriverError, match=f"The {kind} has nothing to send."):
        checked_recipient(OutgoingMessage(id="m1", to=PEER, type=kind))


QUOTE_CHECK = """
import json, sys
from megamsg.runtime.drivers.neonize.loader import load_neonize
from megamsg.runtime.drivers.neonize.message_builders import context_info, jid, quoted_event
load_neonize()
from neonize.client import NewClient
pairs = []
for quoted in json.loads(sys.argv[1]):
    ours = context_info(quoted, jid("+201000000001"))
    theirs = NewClient._make_quoted_message(None, quoted_event(quoted, jid("+201000000001")))
    for _field, part in theirs.quotedMessage.ListFields():
        # neonize clears the quoted part's contextInfo, leaving an empty one: the same on the wire.
        if hasattr(part, "contextInfo") and not part.contextInfo.ListFields():
            part.ClearField("contextInfo")
    pairs.append([ours.SerializeToString().hex(), theirs.SerializeToString().hex()])
print("@@" + json.dumps(pairs))
"""


def test_neonizes_own_quote_builder_reads_our_quoted_messages_as_we_do():
    quoted = [QUOTED_IN, QUOTED_GROUP, QUOTED_OUT]
    result = subprocess.run(
        [sys.executable, "-c", QUOTE_CHECK, json.dumps(quoted)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("@@"))
    pairs = json.loads(line[2:])
    assert len(pairs) == len(quoted)
    for ours, theirs in pairs:
        assert E2E.ContextInfo.FromString(bytes.fromhex(theirs)) == E2E.ContextInfo.FromString(
            bytes.fromhex(ours)
        )


# --- read receipts and presence (item 7) -------------------------------------------------------------


def activity(client, headers) -> list[dict]:
    """What the simulated network was told besides messages, without the times."""
    items = client.get("/api/simulator/activity", headers=headers).get_json()["activity"]
    return [{key: value for key, value in item.items() if key != "at"} for item in items]


def test_read_receipts_and_presence_reach_the_simulated_network(client, connected_instance):
    _, _, headers = connected_instance
    incoming = arrived(client, headers, "Are you there?")
    read = client.post(f"/api/whatsapp/messages/{incoming['message_id']}/read", headers=headers)
    assert read.status_code == 200, read.get_data(as_text=True)
    assert read.get_json() == {
        "ok": True,
        "id": incoming["message_id"],
        "wa_id": incoming["id"],
        "status": "read",
    }
    again = client.post(f"/api/whatsapp/messages/{incoming['id']}/read", headers=headers)
    assert again.status_code == 200
    logged = client.get(f"/api/whatsapp/messages/{incoming['id']}", headers=headers).get_json()["message"]
    assert logged["status"] == "read" and [step["status"] for step in logged["history"]] == [
        "received",
        "read",
    ]

    for state in ("typing", "recording", "paused"):
        shown = client.post(
            "/api/whatsapp/presence",
            headers=headers,
            json={"phone_number": "+20 123 456 7890", "state": state},
        )
        assert shown.status_code == 200 and shown.get_json() == {"ok": True, "to": PEER, "state": state}
    unknown_group = client.post(
        "/api/whatsapp/presence", headers=headers, json={"group_id": GROUP, "state": "typing"}
    )
    assert unknown_group.status_code == 502 and "not in the group" in unknown_group.get_json()["message"]
    assert activity(client, headers) == [
        {"kind": "read", "message_id": incoming["id"], "chat": PEER},
        {"kind": "read", "message_id": incoming["id"], "chat": PEER},
        {"kind": "presence", "to": PEER, "state": "typing"},
        {"kind": "presence", "to": PEER, "state": "recording"},
        {"kind": "presence", "to": PEER, "state": "paused"},
    ]

    sent = _send(client, headers, {"phone_number": PEER, "text": "Yes"}).get_json()
    ours = client.post(f"/api/whatsapp/messages/{sent['id']}/read", headers=headers)
    assert ours.status_code == 422 and ours.get_json()["message"].startswith("Only incoming messages")
    assert client.post("/api/simulator/disconnect", headers=headers).status_code == 200
    for answer in (
        client.post(f"/api/whatsapp/messages/{incoming['id']}/read", headers=headers),
        client.post(
            "/api/whatsapp/presence", headers=headers, json={"phone_number": PEER, "state": "typing"}
        ),
    ):
        assert answer.status_code == 502 and "not connected" in answer.get_json()["message"]
    assert len(activity(client, headers)) == 5


@pytest.mark.parametrize(
    "body, message",
    [
        ({"state": "typing"}, "phone_number is required"),
        ({"phone_number": PEER}, "state is required."),
        ({"phone_number": PEER, "state": "online"}, "state must be one of: typing, recording, paused."),
        ({"phone_number": "12", "state": "typing"}, "phone_number "),
        ({"phone_number": PEER, "group_id": GROUP, "state": "typing"}, "group_id cannot be given with"),
        ({"group_id": "x@g.us", "state": "typing"}, "group_id must be a WhatsApp group id"),
    ],
)
def test_presence_is_validated(client, make_instance, body, message):
    instance, token = make_instance()
    answer = client.post("/api/whatsapp/presence", headers=auth_headers(instance["id"], token), json=body)
    assert answer.status_code == 422 and answer.get_json()["message"].startswith(message)


def test_marking_an_unknown_message_read_is_404(client, make_instance):
    instance, token = make_instance()
    answer = client.post(
        "/api/whatsapp/messages/3EB0NOTHERE/read", headers=auth_headers(instance["id"], token)
    )
    assert answer.status_code == 404
    assert answer.get_json() == {"ok": False, "message": "No message with that id on this instance."}


@pytest.mark.parametrize(
    "message, chat, sender",
    [
        (
            {"id": "3EB0IN", "chat": PEER, "sender": PEER},
            "201234567890@s.whatsapp.net",
            "201234567890@s.whatsapp.net",
        ),
        ({"id": "3EB0IN", "chat": GROUP, "sender": "+201111111111"}, GROUP, "201111111111@s.whatsapp.net"),
    ],
    ids=["chat", "group"],
)
def test_neonize_read_receipt_names_the_chat_and_the_sender(message, chat, sender):
    client = RecordingClient()
    read_call(client, message, "READ")()
    [(name, args, kwargs)] = client.calls
    assert (name, args, kwargs["receipt"]) == ("mark_read", ("3EB0IN",), "READ")
    assert [f"{kwargs[key].User}@{kwargs[key].Server}" for key in ("chat", "sender")] == [chat, sender]
    assert not kwargs["chat"].IsEmpty and _roundtrip(kwargs["chat"]) == kwargs["chat"]


PRESENCE_CHECK = """
import json
from megamsg.runtime.drivers.neonize.features import PRESENCE_STATES, presence_call
from megamsg.runtime.drivers.neonize.loader import load_neonize
load_neonize()
from neonize.utils.enum import ChatPresence, ChatPresenceMedia, ReceiptType
calls = []
class Client:
    def send_chat_presence(self, jid, state, media):
        calls.append([f"{jid.User}@{jid.Server}", state.name, media.name])
for state in PRESENCE_STATES:
    presence_call(Client(), "+201234567890", state, ChatPresence, ChatPresenceMedia)()
print("@@" + json.dumps({"calls": calls, "read": ReceiptType.READ.value.decode()}))
"""


def test_neonize_presence_uses_neonizes_own_enums():
    result = subprocess.run(
        [sys.executable, "-c", PRESENCE_CHECK],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("@@"))
    chat = "201234567890@s.whatsapp.net"
    assert json.loads(line[2:]) == {
        "calls": [
            [chat, "CHAT_PRESENCE_COMPOSING", "CHAT_PRESENCE_MEDIA_TEXT"],
            [chat, "CHAT_PRESENCE_COMPOSING", "CHAT_PRESENCE_MEDIA_AUDIO"],
            [chat, "CHAT_PRESENCE_PAUSED", "CHAT_PRESENCE_MEDIA_TEXT"],
        ],
        "read": "read",
    }


# --- incoming replies, locations, reactions, edits and deletions (item 8) ----------------------------


@pytest.fixture
def private_urls(app):
    """Webhooks to the loopback receiver are allowed (set before any worker starts)."""
    app.config["ALLOW_PRIVATE_URLS"] = True


def delivered_messages(receiver) -> list[dict]:
    """The "message" payloads the receiver got so far, by WhatsApp id."""
    with receiver.lock:
        bodies = [json.loads(request["body"]) for request in receiver.requests]
    return {body["message"]["id"]: body["message"] for body in bodies if body["type"] == "message"}


def test_incoming_replies_locations_reactions_edits_and_deletions(
    private_urls, client, connected_instance, scripted_receiver
):
    _, _, headers = connected_instance
    hook = client.put("/api/whatsapp/instance/webhook", headers=headers, json={"url": scripted_receiver.url})
    assert hook.status_code == 200
    original = arrived(client, headers, "See you at 5")
    ours = _send(client, headers, {"phone_number": PEER, "text": "OK"}).get_json()
    injected = [
        {"type": "text", "text": "Make it 6", "reply_to": original["message_id"]},
        {
            "type": "location",
            "latitude": 30.0444,
            "longitude": 31.2357,
            "name": "Tahrir Square",
            "address": "Cairo",
        },
        {"type": "reaction", "message_id": ours["id"], "emoji": "❤️", "from_me": True},
        {"type": "reaction", "message_id": ours["id"], "emoji": "", "from_me": True},
        {"type": "edited", "message_id": original["id"], "text": "See you at 6"},
        {"type": "deleted", "message_id": "3EB0NOTINLOG"},
    ]
    ids = []
    for body in injected:
        answer = client.post("/api/simulator/incoming", headers=headers, json={"from": PEER, **body})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        ids.append(answer.get_json()["id"])
    got = wait_for(
        lambda: (found := delivered_messages(scripted_receiver)) and all(i in found for i in ids) and found,
        30,
        what="the six webhooks",
    )
    reply, place, reaction, unreaction, edit, deletion = (got[i] for i in ids)
    assert (reply["type"], reply["text"]) == ("text", "Make it 6")
    assert reply["reply_to"] == {"id": original["id"], "message_id": original["message_id"]}
    assert place["type"] == "location" and place["text"] == "30.0444,31.2357 (Tahrir Square, Cairo)"
    assert place["location"] == {
        "latitude": 30.0444,
        "longitude": 31.2357,
        "name": "Tahrir Square",
        "address": "Cairo",
    }
    assert (reaction["type"], reaction["text"]) == ("reaction", "❤️")
    assert reaction["reaction"] == {"id": ours["id"], "message_id": ours["id"], "emoji": "❤️"}
    assert unreaction["reaction"]["emoji"] == "" and "reply_to" not in reaction
    assert (edit["type"], edit["text"]) == ("edited", "See you at 6")
    assert edit["edited"] == {
        "id": original["id"],
        "message_id": original["message_id"],
        "text": "See you at 6",
    }
    assert deletion["type"] == "deleted" and deletion["deleted"] == {"id": "3EB0NOTINLOG", "message_id": None}

    logged = client.get("/api/whatsapp/messages?direction=in&limit=10", headers=headers).get_json()[
        "messages"
    ]
    by_wa_id = {message["wa_id"]: message for message in logged}
    assert by_wa_id[ids[0]]["reply_to"] == reply["reply_to"]
    assert by_wa_id[ids[1]]["location"] == place["location"]
    assert by_wa_id[ids[2]]["reaction"] == reaction["reaction"] and by_wa_id[ids[2]]["type"] == "reaction"
    assert by_wa_id[ids[4]]["edited"] == edit["edited"]
    assert by_wa_id[ids[5]]["deleted"] == deletion["deleted"]


@pytest.mark.parametrize(
    "body, message",
    [
        (
            {"type": "reaction", "emoji": "👍"},
            "message_id is required for a reaction, an edit or a deletion.",
        ),
        ({"type": "reaction", "message_id": "3EB0A"}, 'emoji is required for a reaction ("" removes it).'),
        ({"type": "edited", "message_id": "3EB0A"}, "text is required for types text and edited."),
        ({"type": "deleted"}, "message_id is required for a reaction, an edit or a deletion."),
        ({"type": "location", "latitude": 30}, "longitude is required with latitude."),
        ({"type": "location", "latitude": 99, "longitude": 1}, "latitude must be between -90 and 90."),
        ({"type": "text", "text": "x", "reply_to": ""}, "reply_to must not be empty."),
    ],
)
def test_injected_incoming_extras_are_validated(client, make_instance, body, message):
    instance, token = make_instance()
    answer = client.post(
        "/api/simulator/incoming", headers=auth_headers(instance["id"], token), json={"from": PEER, **body}
    )
    assert answer.status_code == 422 and answer.get_json() == {"ok": False, "message": message}


def _incoming(fill, *, chat=None, is_edit=False):
    """A MessageEv from 201234567890 after the callback's bytes round trip."""
    sender = _jid("201234567890")
    source = P.MessageSource(Chat=chat or sender, Sender=sender, IsFromMe=False, IsGroup=chat is not None)
    ev = P.Message(
        Info=P.MessageInfo(ID="3EB0NEW", Pushname="Ann", Timestamp=1714650000, MessageSource=source),
        IsEdit=is_edit,
    )
    fill(ev.Message)
    return P.Message.FromString(ev.SerializePartialToString())


def _reaction(emoji):
    def fill(message):
        message.reactionMessage.key.ID = "3EB0OLD"
        message.reactionMessage.key.fromMe = True
        message.reactionMessage.key.remoteJID = "201234567890@s.whatsapp.net"
        message.reactionMessage.text = emoji

    return fill


def _revoke(message):
    message.protocolMessage.type = E2E.ProtocolMessage.REVOKE
    message.protocolMessage.key.ID = "3EB0OLD"


def _edit_unwrapped(message):
    # whatsmeow's UnwrapRaw: IsEdit, and the MESSAGE_EDIT protocol message as the content.
    message.protocolMessage.type = E2E.ProtocolMessage.MESSAGE_EDIT
    message.protocolMessage.key.ID = "3EB0OLD"
    message.protocolMessage.editedMessage.conversation = "Fixed"


def _edit_wrapped(message):
    _edit_unwrapped(message.editedMessage.message)


def _location(message):
    message.locationMessage.degreesLatitude = 30.0444
    message.locationMessage.degreesLongitude = 31.2357
    message.locationMessage.address = "Cairo"


def _reply(message):
    message.extendedTextMessage.text = "Make it 6"
    info = message.extendedTextMessage.contextInfo
    info.stanzaID, info.participant = "3EB0OLD", "201000000001@s.whatsapp.net"
    info.quotedMessage.conversation = "See you at 5"


def _image_reply(message):
    message.imageMessage.caption = "This one"
    message.imageMessage.contextInfo.stanzaID = "3EB0OLD"
    message.imageMessage.contextInfo.participant = "123456789@lid"


@pytest.mark.parametrize(
    "ev, kind, text, details",
    [
        (
            _incoming(_reaction("👍")),
            "reaction",
            "👍",
            {"reaction": {"id": "3EB0OLD", "from_me": True, "emoji": "👍"}},
        ),
        (
            _incoming(_reaction("")),
            "reaction",
            "",
            {"reaction": {"id": "3EB0OLD", "from_me": True, "emoji": ""}},
        ),
        (_incoming(_revoke), "deleted", "", {"deleted": {"id": "3EB0OLD"}}),
        (
            _incoming(_edit_unwrapped, is_edit=True),
            "edited",
            "Fixed",
            {"edited": {"id": "3EB0OLD", "text": "Fixed"}},
        ),
        (_incoming(_edit_wrapped), "edited", "Fixed", {"edited": {"id": "3EB0OLD", "text": "Fixed"}}),
        (
            _incoming(_location),
            "location",
            "30.0444,31.2357 (Cairo)",
            {"location": {"latitude": 30.0444, "longitude": 31.2357, "name": None, "address": "Cairo"}},
        ),
        (_incoming(_reply), "text", "Make it 6", {"reply_to": {"id": "3EB0OLD", "from": "201000000001"}}),
        (_incoming(_image_reply), "image", "This one", {"reply_to": {"id": "3EB0OLD", "from": None}}),
    ],
    ids=[
        "reaction",
        "reaction-removed",
        "deleted",
        "edited",
        "edited-wrapped",
        "location",
        "reply",
        "image-reply",
    ],
)
def test_neonize_incoming_kinds_carry_their_fields(ev, kind, text, details):
    event = message_event_from(ev)
    assert (event["type"], event["text"], event["from"], event["wa_id"]) == (
        kind,
        text,
        "201234567890",
        "3EB0NEW",
    )
    extra = {
        key: event[key] for key in ("reply_to", "location", "reaction", "edited", "deleted") if key in event
    }
    assert extra == details


def test_a_reaction_in_a_group_keeps_its_group_and_sender():
    event = message_event_from(_incoming(_reaction("🎉"), chat=_jid("120363000000000001", "g.us")))
    assert (event["type"], event["chat"], event["from"], event["is_group"]) == (
        "reaction",
        GROUP,
        "201234567890",
        True,
    )


def test_the_dashboard_detail_shows_a_messages_details(client, db, make_instance):
    instance, _ = make_instance(owner_email="owner@example.com")
    login(client, "owner@example.com")
    quoted, _ = message_log.record_incoming(
        db,
        instance["id"],
        {"wa_id": "3EB0Q", "peer": PEER, "type": "text", "text": "Where?", "wa_timestamp": 1},
    )
    details = {
        "reply_to": {"id": "3EB0Q", "message_id": quoted["id"]},
        "location": {"latitude": 30.0444, "longitude": 31.2357, "name": "Tahrir Square", "address": None},
    }
    row, _ = message_log.record_incoming(
        db,
        instance["id"],
        {
            "wa_id": "3EB0L",
            "peer": PEER,
            "type": "location",
            "text": "",
            "wa_timestamp": 2,
            "details": json.dumps(details),
        },
    )
    html = client.get(f"/instances/{instance['id']}/messages/{row['id']}").get_data(as_text=True)
    assert "Replies to" in html and f"/instances/{instance['id']}/messages/{quoted['id']}" in html
    assert "30.0444, 31.2357 · Tahrir Square" in html
