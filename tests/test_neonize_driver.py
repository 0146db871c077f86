"""The neonize driver: event translation on real neonize protobufs, and the real client offline."""

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from megamsg.runtime.drivers.base import DriverError, OutgoingMessage
from megamsg.runtime.drivers.neonize.driver import format_pair_code
from megamsg.runtime.drivers.neonize.events import (
    media_message_from,
    message_event_from,
    receipt_event_from,
    session_event_from,
    unix_seconds,
)
from megamsg.runtime.drivers.neonize.sending import checked_recipient, send_call
from megamsg.runtime.drivers.neonize.store import session_store_for

# The generated protobuf modules import each other as top-level packages; loading them from their
# directory avoids `import neonize`, which loads the Go library and calls logging.basicConfig().
_PROTO_DIR = str(Path(importlib.util.find_spec("neonize").submodule_search_locations[0]) / "proto")
if _PROTO_DIR not in sys.path:
    sys.path.insert(0, _PROTO_DIR)
P = importlib.import_module("Neonize_pb2")

REPO = Path(__file__).resolve().parents[1]
TS_MS = 1714650000123  # neonize 0.5.2 sends Info.Timestamp in milliseconds


def jid(user: str, server: str = "s.whatsapp.net", device: int = 0):
    """A JID the way Go encodes it (every field set)."""
    return P.JID(User=user, Server=server, Device=device, RawAgent=0, Integrator=0, IsEmpty=False)


def incoming(fill=None, *, sender=None, chat=None, sender_alt=None, is_group=False, from_me=False):
    """A MessageEv after the same bytes → FromString trip as neonize's callback."""
    sender = sender or jid("201234567890")
    source = P.MessageSource(Chat=chat or sender, Sender=sender, IsFromMe=from_me, IsGroup=is_group)
    if sender_alt is not None:
        source.SenderAlt.CopyFrom(sender_alt)
    ev = P.Message(
        Info=P.MessageInfo(ID="3EB0ABC", Pushname="John Doe", Timestamp=TS_MS, MessageSource=source)
    )
    if fill:
        fill(ev.Message)
    return P.Message.FromString(ev.SerializePartialToString())


def receipt(kind, ids, chat=None):
    """A ReceiptEv after the callback's bytes round trip; kind None leaves Type unset."""
    ev = P.Receipt(
        MessageIDs=ids, Timestamp=1714650100, MessageSource=P.MessageSource(Chat=chat or jid("201234567890"))
    )
    if kind is not None:
        ev.Type = kind
    return P.Receipt.FromString(ev.SerializePartialToString())


def set_text(message):
    message.conversation = "Hello!"


def set_extended_text(message):
    message.extendedTextMessage.text = "Hello!"


@pytest.mark.parametrize("fill", [set_text, set_extended_text], ids=["conversation", "extendedTextMessage"])
def test_text_message(fill):
    assert message_event_from(incoming(fill)) == {
        "kind": "message",
        "wa_id": "3EB0ABC",
        "from": "201234567890",
        "sender_lid": None,
        "push_name": "John Doe",
        "chat": None,
        "is_group": False,
        "type": "text",
        "text": "Hello!",
        "timestamp": 1714650000,
        "media": None,
    }


def test_group_message_comes_from_the_participant():
    ev = incoming(
        set_text, sender=jid("201111111111", device=3), chat=jid("120363025246125486", "g.us"), is_group=True
    )
    event = message_event_from(ev)
    assert (event["from"], event["chat"], event["is_group"]) == (
        "201111111111",
        "120363025246125486@g.us",
        True,
    )


def test_lid_sender_is_mapped_through_sender_alt():
    ev = incoming(set_text, sender=jid("123456789012345", "lid"), sender_alt=jid("201234567890"))
    assert (
        message_event_from(ev, resolve_lid=lambda lid: pytest.fail("SenderAlt was enough"))["from"]
        == "201234567890"
    )


@pytest.mark.parametrize(
    "resolved, sender, lid",
    [("201999999999", "201999999999", None), (None, "", "123456789012345@lid")],
)
def test_lid_sender_without_alt_uses_the_resolver(resolved, sender, lid):
    asked = []
    ev = incoming(set_text, sender=jid("123456789012345", "lid"))
    event = message_event_from(
        ev, resolve_lid=lambda lid: asked.append(f"{lid.User}@{lid.Server}") or resolved
    )
    assert asked == ["123456789012345@lid"]
    # Never a LID passed off as a number, and never a message dropped.
    assert (event["from"], event["sender_lid"], event["text"]) == (sender, lid, "Hello!")


def set_image(message):
    message.imageMessage.caption = "Look"
    message.imageMessage.mimetype = "image/png"
    message.imageMessage.fileLength = 2048


def test_image_with_caption():
    ev = incoming(set_image)
    event = message_event_from(ev)
    assert (event["type"], event["text"]) == ("image", "Look")
    assert event["media"] == {"mime_type": "image/png", "file_name": None, "size": 2048}
    assert media_message_from(ev.Message).imageMessage.caption == "Look"


def set_document(message):
    message.documentMessage.fileName = "invoice.pdf"
    message.documentMessage.mimetype = "application/pdf"
    message.documentMessage.fileLength = 5000


def set_document_with_caption(message):
    inner = message.documentWithCaptionMessage.message.documentMessage
    inner.fileName, inner.mimetype, inner.fileLength, inner.caption = (
        "invoice.pdf",
        "application/pdf",
        5000,
        "Due",
    )


@pytest.mark.parametrize(
    "fill, text", [(set_document, ""), (set_document_with_caption, "Due")], ids=["plain", "with-caption"]
)
def test_document_with_file_name(fill, text):
    ev = incoming(fill)
    event = message_event_from(ev)
    assert (event["type"], event["text"]) == ("document", text)
    assert event["media"] == {"mime_type": "application/pdf", "file_name": "invoice.pdf", "size": 5000}
    assert media_message_from(ev.Message).documentMessage.fileName == "invoice.pdf"


def set_audio(message):
    message.audioMessage.PTT = True
    message.audioMessage.fileLength = 10


def set_sticker(message):
    message.stickerMessage.fileLength = 10


def set_location(message):
    message.locationMessage.degreesLatitude = 30.0444
    message.locationMessage.degreesLongitude = 31.2357
    message.locationMessage.name = "Cairo"


def set_contact(message):
    message.contactMessage.displayName = "Jane"
    message.contactMessage.vcard = "BEGIN:VCARD\nFN:Jane\nEND:VCARD"


@pytest.mark.parametrize(
    "fill, kind, text, mime",
    [
        (set_audio, "audio", "", "audio/ogg"),
        (set_sticker, "sticker", "", "image/webp"),
        (set_location, "location", "30.0444,31.2357 (Cairo)", None),
        (set_contact, "contact", "BEGIN:VCARD\nFN:Jane\nEND:VCARD", None),
    ],
)
def test_other_message_types(fill, kind, text, mime):
    event = message_event_from(incoming(fill))
    assert (event["type"], event["text"]) == (kind, text)
    assert (event["media"] or {}).get("mime_type") == mime


def set_ephemeral_setting(message):
    # Reactions, edits and deletions are events of their own now (issue 13); other protocol messages are not.
    message.protocolMessage.type = type(message.protocolMessage).EPHEMERAL_SETTING


@pytest.mark.parametrize(
    "ev",
    [
        incoming(set_text, from_me=True),
        incoming(set_text, chat=jid("status", "broadcast")),
        incoming(set_ephemeral_setting),
    ],
    ids=["from-me", "status-broadcast", "protocol-message"],
)
def test_messages_not_for_the_webhook(ev):
    assert message_event_from(ev) is None


@pytest.mark.parametrize(
    "value, seconds", [(TS_MS, 1714650000), (1714650000, 1714650000), (1714650000123456, 1714650000)]
)
def test_timestamps_in_any_unit_become_seconds(value, seconds):
    assert unix_seconds(value) == seconds


@pytest.mark.parametrize(
    "kind, status",
    [(P.Receipt.DELIVERED, "delivered"), (P.Receipt.READ, "read"), (P.Receipt.PLAYED, "played")],
)
def test_receipts(kind, status):
    assert receipt_event_from(receipt(kind, ["3EB0A", "3EB0B", "3EB0C"])) == {
        "kind": "receipt",
        "wa_ids": ["3EB0A", "3EB0B", "3EB0C"],
        "status": status,
        "timestamp": 1714650100,
        "chat": "201234567890@s.whatsapp.net",
    }


@pytest.mark.parametrize(
    "kind", [P.Receipt.READ_SELF, P.Receipt.RETRY, P.Receipt.SENDER, P.Receipt.SERVER_ERROR, None]
)
def test_receipts_that_are_not_status_updates(kind):
    # None: Go leaves Type unset for types it does not map, and the proto2 default is DELIVERED.
    assert receipt_event_from(receipt(kind, ["3EB0A"])) is None


@pytest.mark.parametrize(
    "ev, status",
    [
        (P.Connected(status=True), "connected"),
        (P.Disconnected(status=True), "disconnected"),
        (P.LoggedOut(OnConnect=True, Reason=P.LOGGED_OUT), "logged_out"),
    ],
)
def test_session_events(ev, status):
    ev = type(ev).FromString(ev.SerializePartialToString())
    assert session_event_from(ev, "+201234567890") == {
        "kind": "session",
        "status": status,
        "phone_number": "+201234567890",
    }


@pytest.mark.parametrize("code", ["ABCDEFGH", "ABCD-EFGH", "abcd-efgh"])
def test_pair_code_format(code):
    assert format_pair_code(code) == "ABCD-EFGH"


def test_unexpected_pair_code_is_a_driver_error():
    with pytest.raises(DriverError):
        format_pair_code("ABC")


def test_session_store(tmp_path):
    path = session_store_for({"DATA_DIR": str(tmp_path), "SESSION_STORE": None}, "inst-1")
    assert path == str(tmp_path / "sessions" / "inst-1.sqlite")
    assert (tmp_path / "sessions").is_dir()
    url = "postgres://wa:secret@db/wa_{instance_id}"
    assert (
        session_store_for({"DATA_DIR": str(tmp_path), "SESSION_STORE": url}, "inst-1")
        == "postgres://wa:secret@db/wa_inst-1"
    )


OFFLINE_RUNNER = r"""
import json, logging, sys, threading, time
from megamsg.runtime.drivers.base import NotConnected, OutgoingMessage
from megamsg.runtime.drivers.neonize.driver import NeonizeDriver

lock = threading.Lock()

def report(**fields):
    with lock:  # the sink is called from the driver's threads too
        sys.stdout.write("@@" + json.dumps(fields) + "\n")
        sys.stdout.flush()

class Sink:
    def state(self, **fields):
        report(state=fields)
    def emit(self, event, media=None):
        report(event=event)

report(neonize_imported="neonize" in sys.modules)
driver = NeonizeDriver("inst-offline", {"DATA_DIR": sys.argv[1], "PAIRING_TIMEOUT": 180.0}, Sink())
began = time.monotonic()
driver.start()
report(start_seconds=time.monotonic() - began)
deadline = time.monotonic() + 15
while driver.status() != "disconnected" and time.monotonic() < deadline:
    time.sleep(0.02)
report(root_handlers=len(logging.getLogger().handlers), root_level=logging.getLogger().level)
try:
    driver.send(OutgoingMessage(id="m1", to="+201234567890", type="text", text="hi"))
    report(send="sent")
except NotConnected as exc:
    report(send="NotConnected", status=exc.status)
began = time.monotonic()
driver.stop()
driver.stop()
report(stop_seconds=time.monotonic() - began)
"""


def test_offline_driver_reports_disconnected_and_stops_promptly(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("https_proxy", "http_proxy", "all_proxy", "no_proxy")
    }
    # whatsmeow honours HTTPS_PROXY: a closed local port makes the dial fail even on a machine with internet.
    env.update(HTTPS_PROXY="http://127.0.0.1:1", PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", OFFLINE_RUNNER, str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line[2:]) for line in result.stdout.splitlines() if line.startswith("@@")]
    report = {key: value for line in lines for key, value in line.items() if key != "state"}
    states = [line["state"] for line in lines if "state" in line]
    assert report["neonize_imported"] is False
    assert report["start_seconds"] < 0.5
    assert states[0]["status"] == "starting"
    failed = [s for s in states if s.get("status") == "disconnected"]
    assert failed and failed[0]["last_error"].startswith("cannot reach WhatsApp: "), states
    assert (report["root_handlers"], report["root_level"]) == (0, 30)  # neonize's basicConfig undone
    assert (report["send"], report["status"]) == ("NotConnected", "disconnected")
    assert report["stop_seconds"] < 2.0
    assert (tmp_path / "sessions" / "inst-offline.sqlite").exists()


class PhoneSide:
    """What neonize's Go client answers the driver, as real neonize protobufs (no network here)."""

    def __init__(self, media: bytes):
        self.media = media
        self.downloads: list = []

    def get_me(self):
        return P.Device(JID=jid("201000000009"), PushName="Support desk")

    def download_any(self, message):
        self.downloads.append(message)
        return self.media

    def get_pn_from_lid(self, lid):
        return jid("201999999999") if lid.User == "123456789012345" else P.JID()


def test_driver_turns_neonize_callbacks_into_published_state_and_queued_events(app, tmp_path):
    """The driver's own dispatch, fed real protobufs, reporting through the real RunnerSink."""
    import threading
    import time

    from megamsg import keys
    from megamsg.queues import queue
    from megamsg.runtime.drivers.neonize.core import Attempt
    from megamsg.runtime.drivers.neonize.driver import NeonizeDriver
    from megamsg.runtime.runner_sink import RunnerSink
    from megamsg.session_state import read_state
    from tests.conftest import wait_for
    from tests.media_samples import png_bytes

    config = {**app.config, "DATA_DIR": str(tmp_path)}
    instance_id = "inst-dispatch"
    store = session_store_for(config, instance_id)
    Path(store).write_bytes(b"a linked session")
    driver = NeonizeDriver(instance_id, config, RunnerSink(config, instance_id))
    phone = PhoneSide(png_bytes())
    attempt = Attempt(client=phone)
    driver._attempt = driver._live = attempt  # as _run_attempt does once connect() is running
    messages = threading.Thread(target=driver._work, args=(driver._messages, driver._on_message), daemon=True)
    messages.start()
    events_queue = queue(config, keys.EVENTS_QUEUE)

    def events() -> list[dict]:
        return [job.args[1] for job in events_queue.get_jobs() if job.args[0] == instance_id]

    def state() -> dict:
        return read_state(config, instance_id)

    driver._handle_event("qr", phone, b"2@first-qr-code")
    assert (state()["status"], state()["qr"]) == ("qr", "2@first-qr-code")
    assert float(state()["qr_expires_at"]) > time.time()

    driver._handle_event("qr", PhoneSide(b""), b"2@from-a-retired-client")  # a stale client: ignored
    assert state()["qr"] == "2@first-qr-code"

    driver._handle_event(
        "connected", phone, P.Connected.FromString(P.Connected(status=True).SerializeToString())
    )
    now = state()
    assert (now["status"], now["phone_number"], now["push_name"], now["qr"]) == (
        "connected",
        "+201000000009",
        "Support desk",
        "",
    )
    assert events()[-1] == {"kind": "session", "status": "connected", "phone_number": "+201000000009"}

    image = incoming(set_image, sender=jid("123456789012345", "lid"))  # LID, no SenderAlt
    driver._handle_event("message", phone, image)
    message = wait_for(lambda: [e for e in events() if e["kind"] == "message"], 10, what="message event")[0]
    assert (message["from"], message["type"], message["text"], message["media_parked"]) == (
        "201999999999",
        "image",
        "Look",
        True,
    )
    assert message["media"] == {"mime_type": "image/png", "file_name": None, "size": len(png_bytes())}
    assert phone.downloads[0].imageMessage.caption == "Look"
    parked = driver.sink.redis.get(keys.incoming_media(instance_id, message["wa_id"]))
    assert parked == png_bytes()

    driver._handle_event("receipt", phone, receipt(P.Receipt.READ, ["3EB0A", "3EB0B"]))
    assert events()[-1]["kind"] == "receipt"
    assert (events()[-1]["status"], events()[-1]["wa_ids"]) == ("read", ["3EB0A", "3EB0B"])

    driver._handle_event("disconnected", phone, P.Disconnected(status=True))
    assert (state()["status"], state()["last_error"]) == (
        "disconnected",
        "connection to WhatsApp lost; reconnecting",
    )
    assert events()[-1] == {"kind": "session", "status": "disconnected", "phone_number": "+201000000009"}

    driver._handle_event("logged_out", phone, P.LoggedOut(OnConnect=False, Reason=P.LOGGED_OUT))
    assert events()[-1] == {"kind": "session", "status": "logged_out", "phone_number": "+201000000009"}
    pending = driver._take_pending()
    assert pending[0] == "logged_out" and pending[1].startswith("WhatsApp ended the session")
    driver._reset_session(None, pending[1])  # what the session thread does next: wipe, pair anew
    assert not Path(store).exists()
    after = state()
    assert (after["status"], after["phone_number"], after["push_name"]) == ("logged_out", "", "")
    driver._messages.put(None)
    messages.join(timeout=5)


class RecordingSink:
    """A sink that only remembers what the driver reported."""

    def __init__(self):
        self.states: list = []
        self.events: list = []

    def state(self, **fields):
        self.states.append(fields)

    def emit(self, event, media=None):
        self.events.append(event)


def live_driver(tmp_path):
    """A NeonizeDriver whose current attempt is live, without neonize or a network."""
    from megamsg.runtime.drivers.neonize.core import Attempt
    from megamsg.runtime.drivers.neonize.driver import NeonizeDriver

    driver = NeonizeDriver("inst-table", {"DATA_DIR": str(tmp_path)}, RecordingSink())
    attempt = Attempt(client=PhoneSide(b""))
    driver._attempt = driver._live = attempt
    return driver, attempt


OUTDATED = ("client_outdated", "WhatsApp rejected this client version; upgrade neonize")


@pytest.mark.parametrize(
    "kind, payload, pending",
    [
        ("stream_replaced", None, ("stream_replaced", "another client took over this WhatsApp session")),
        ("temporary_ban", None, ("temporary_ban", "WhatsApp temporarily banned this number")),
        ("client_outdated", None, OUTDATED),
        ("login", "err-client-outdated", OUTDATED),
        ("an-unknown-kind", None, None),
    ],
)
def test_callbacks_that_end_the_session_are_handed_to_the_session_thread(tmp_path, kind, payload, pending):
    driver, attempt = live_driver(tmp_path)
    driver._handle_event(kind, attempt.client, payload)
    assert driver._take_pending() == pending
    assert driver.sink.events == []


def test_login_status_callbacks(tmp_path):
    driver, attempt = live_driver(tmp_path)
    driver._handle_event("login", attempt.client, "timeout")
    assert attempt.qr_exhausted_at is not None and not attempt.paired
    driver._handle_event("login", attempt.client, "success")
    assert attempt.paired
    assert driver.sink.states[-1] == {"status": "starting", "qr": "", "qr_expires_at": 0.0, "last_error": ""}


KINDS_RUNNER = r"""
import json
from megamsg.runtime.drivers.neonize.dispatch import EventDispatch
from megamsg.runtime.drivers.neonize.loader import load_neonize

queued = set(load_neonize().handlers.values()) | {"qr", "login"}  # qr and login: SessionLoop's own callbacks
handled = set(EventDispatch._EVENT_HANDLERS)
print("@@" + json.dumps({"unhandled": sorted(queued - handled), "never_queued": sorted(handled - queued)}))
"""


def test_every_event_kind_queued_from_neonize_has_a_handler():
    # In a child: importing neonize loads its Go library and touches logging.
    result = subprocess.run(
        [sys.executable, "-c", KINDS_RUNNER],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("@@"))
    assert json.loads(line[2:]) == {"unhandled": [], "never_queued": []}


class RecordingClient:
    """Answers every neonize send_* call with a SendResponse-like object, remembering the call."""

    def __init__(self):
        self.calls: list = []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return P.SendResponse(ID="3EB0SENT")

        return call


@pytest.mark.parametrize(
    "message, call",
    [
        (
            OutgoingMessage(id="m1", to="+201234567890", type="text", text="Hello!"),
            ("send_message", ("JID", "Hello!"), {}),
        ),
        (
            OutgoingMessage(id="m1", to="+201234567890", type="image", media=b"png", caption="Look"),
            ("send_image", ("JID", b"png"), {"caption": "Look"}),
        ),
        (
            OutgoingMessage(id="m1", to="+201234567890", type="audio", media=b"ogg", ptt=True),
            ("send_audio", ("JID", b"ogg"), {"ptt": True}),
        ),
        (
            OutgoingMessage(id="m1", to="+201234567890", type="video", media=b"mp4"),
            ("send_video", ("JID", b"mp4"), {"caption": None}),
        ),
        (
            OutgoingMessage(
                id="m1",
                to="+201234567890",
                type="document",
                media=b"%PDF",
                file_name="invoice.pdf",
                mime_type="application/pdf",
            ),
            (
                "send_document",
                ("JID", b"%PDF"),
                {
                    "caption": None,
                    "title": "invoice.pdf",
                    "filename": "invoice.pdf",
                    "mimetype": "application/pdf",
                },
            ),
        ),
    ],
    ids=["text", "image", "audio", "video", "document"],
)
def test_each_message_type_is_sent_with_its_neonize_call(message, call):
    client = RecordingClient()
    assert send_call(client, "JID", message)().ID == "3EB0SENT"
    assert client.calls == [call]


def test_a_type_whatsapp_cannot_take_has_no_send_call():
    assert send_call(RecordingClient(), "JID", OutgoingMessage(id="m1", to="+2012", type="sticker")) is None


@pytest.mark.parametrize(
    "message, error",
    [
        (OutgoingMessage(id="m1", to="John", type="text", text="Hi"), "The recipient must be a phone number"),
        (
            OutgoingMessage(id="m1", to="+201234567890", type="text", text=""),
            "A text message needs some text.",
        ),
        (
            OutgoingMessage(id="m1", to="+201234567890", type="document"),
            "The document message has no media to send.",
        ),
    ],
)
def test_messages_refused_before_they_reach_neonize(message, error):
    with pytest.raises(DriverError) as refused:
        checked_recipient(message)
    assert str(refused.value).startswith(error)


def test_the_recipient_is_its_digits():
    message = OutgoingMessage(id="m1", to="+20 123-456-7890", type="text", text="Hi")
    assert checked_recipient(message) == "201234567890"


RETRY_RUNNER = r"""
import json, sys, threading, time
from megamsg.runtime.drivers.neonize.driver import NeonizeDriver

lock = threading.Lock()
states = []

class Sink:
    def state(self, **fields):
        with lock:  # called from the driver's threads
            states.append({**fields, "at": time.time()})
    def emit(self, event, media=None):
        pass

def wait_for(predicate, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with lock:
            found = [s for s in states if predicate(s)]
        if found:
            return found[0]
        time.sleep(0.01)
    raise SystemExit("timed out; states: " + json.dumps(states))

def waiting(s):
    return s.get("retry_at") not in (None, "")

driver = NeonizeDriver("inst-retry", {"DATA_DIR": sys.argv[1], "PAIRING_TIMEOUT": 180.0}, Sink())
driver.start()
first = wait_for(waiting)
asked = time.time()
driver.reconnect()  # "Reconnect now": the wait ends at once, well before its 2 s
cleared = wait_for(lambda s: s["at"] > first["at"] and s.get("retry_at") == "")
second = wait_for(lambda s: waiting(s) and s["at"] > cleared["at"])
driver.stop()
with lock:
    print("@@" + json.dumps({"states": states, "first": first, "asked": asked, "cleared": cleared, "second": second}))
"""


def test_offline_driver_publishes_when_it_retries_and_reconnect_skips_the_wait(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k.lower() not in ("https_proxy", "http_proxy", "all_proxy", "no_proxy")
    }
    env.update(HTTPS_PROXY="http://127.0.0.1:1", PYTHONPATH=str(REPO))  # the real dial fails at once
    result = subprocess.run(
        [sys.executable, "-c", RETRY_RUNNER, str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=40,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("@@"))
    seen = json.loads(line[2:])
    states, first, second = seen["states"], seen["first"], seen["second"]
    assert states[0]["status"] == "starting" and states[0]["retry_at"] == ""
    failed = [s for s in states if s.get("status") == "disconnected" and s["at"] <= first["at"]]
    assert failed and failed[-1]["last_error"].startswith("cannot reach WhatsApp: "), states
    # The first failure waits 2 s, the second 4 s (capped exponential backoff): retry_at says when.
    assert 1.5 <= first["retry_at"] - first["at"] <= 2.5, first
    assert 3.5 <= second["retry_at"] - second["at"] <= 4.5, second
    # reconnect() ended the first wait long before it was due.
    assert seen["cleared"]["at"] - seen["asked"] < 1.0, seen["cleared"]
    assert seen["cleared"]["at"] < first["retry_at"] - 0.5
