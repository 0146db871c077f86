"""The simulator driver: a faithful stand-in for the WhatsApp network, state kept in Redis.

It behaves like the real driver seen from the runner: QR codes rotate until the simulated
phone "scans" one, then the session is connected; incoming messages and receipts are injected
through control actions and travel the same events path; sent messages land in a bounded outbox.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import Any

from megamsg import keys
from megamsg.ids import new_message_id
from megamsg.redis_conn import as_text, get_redis
from megamsg.runtime.drivers.base import Driver, DriverError, EventSink, NotConnected, OutgoingMessage
from megamsg.runtime.drivers.simulator_burst import SimulatorBurst
from megamsg.runtime.drivers.simulator_features import (
    SimulatorFeatures,
    incoming_details,
    incoming_text,
    outbox_details,
)

OUTBOX_LIMIT = 1000


class SimulatorDriver(SimulatorFeatures, SimulatorBurst, Driver):
    """Simulated WhatsApp session for one instance."""

    def __init__(self, instance_id: str, config: dict[str, Any], sink: EventSink) -> None:
        """Idle until start()."""
        super().__init__(instance_id, config, sink)
        self.redis = get_redis(config)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._status = "starting"
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """Connect if a linked session exists, else start offering QR codes."""
        self.sink.state(status="starting", qr="", qr_expires_at="", last_error="")
        self._thread = threading.Thread(target=self._run, name="simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the QR rotation thread."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)

    def status(self) -> str:
        """Current status."""
        return self._status

    def _linked(self) -> dict[str, str]:
        """The simulated phone's link (phone_number, push_name), {} when not scanned."""
        raw = self.redis.hgetall(keys.simulator(self.instance_id, "session"))
        return {as_text(key): as_text(value) for key, value in raw.items()}

    def _set_status(self, status: str, **fields: Any) -> None:
        """Remember and publish status, with other state fields."""
        self._status = status
        self.sink.state(status=status, **fields)

    def _connect(self, linked: dict[str, str]) -> None:
        """Become connected as the linked phone, and tell the webhook."""
        self._set_status(
            "connected",
            qr="",
            qr_expires_at="",
            phone_number=linked["phone_number"],
            push_name=linked.get("push_name", ""),
            last_error="",
        )
        self.sink.emit({"kind": "session", "status": "connected", "phone_number": linked["phone_number"]})

    def _run(self) -> None:
        """Resume a linked session, then rotate QR codes whenever none is linked, until stop()."""
        with self._lock:
            linked = self._linked()
            if linked and not self.redis.exists(keys.simulator(self.instance_id, "offline")):
                self._connect(linked)
            elif linked:
                self._set_status("disconnected", last_error="simulated network disconnect")
        qr_seconds = float(self.config["SIMULATOR_QR_SECONDS"])
        while not self._stop.is_set():
            with self._lock:
                if self._status in ("starting", "qr", "logged_out"):
                    payload = "2@" + ",".join(secrets.token_urlsafe(n) for n in (48, 32, 32, 16))
                    self._set_status(
                        "qr",
                        qr=payload,
                        qr_expires_at=time.time() + qr_seconds,
                        phone_number="",
                        push_name="",
                    )
                    timeout = qr_seconds
                else:
                    timeout = None
            self._wake.wait(timeout)
            self._wake.clear()

    # -- operations ------------------------------------------------------------
    def send(self, message: OutgoingMessage) -> str:
        """Put the message in the outbox (or fail as instructed by fail-next, after delay-next)."""
        delay = self.redis.getdel(keys.simulator(self.instance_id, "delay_next"))
        if delay:
            time.sleep(float(delay))  # a slow network: this send job really takes that long
        with self._lock:
            if self._status != "connected":
                raise NotConnected(self._status)
            failure = self.redis.getdel(keys.simulator(self.instance_id, "fail_next"))
            if failure:
                raise DriverError(f"WhatsApp refused the message: {as_text(failure)}")
            self.refuse_unknown_group(message.to)
            entry = {
                "id": message.id,
                "to": message.to,
                "type": message.type,
                "text": message.text,
                "caption": message.caption,
                "mime_type": message.mime_type,
                "file_name": message.file_name,
                "ptt": message.ptt,
                "media_sha256": hashlib.sha256(message.media).hexdigest()
                if message.media is not None
                else None,
                "media_size": len(message.media) if message.media is not None else None,
                "sent_at": time.time(),  # when it reached the network (pacing is checked against it)
                **outbox_details(message.details),
            }
            pipe = self.redis.pipeline()
            pipe.rpush(keys.simulator(self.instance_id, "outbox"), json.dumps(entry))
            pipe.ltrim(keys.simulator(self.instance_id, "outbox"), -OUTBOX_LIMIT, -1)
            pipe.execute()
            # The simulated network keeps our id, so receipts can refer to it.
            return message.id

    def pair_code(self, phone_number: str) -> str:
        """A pairing code, offered (like WhatsApp) only while a QR is being shown."""
        with self._lock:
            if self._status != "qr":
                raise DriverError(
                    f"A pair code can only be requested while the QR is shown (status: {self._status})."
                )
            code = secrets.token_hex(4).upper()
            self.redis.set(keys.simulator(self.instance_id, "pair_code"), f"{phone_number}:{code}", ex=180)
            return f"{code[:4]}-{code[4:]}"

    def logout(self) -> None:
        """Unlink: forget the session and offer a new QR."""
        with self._lock:
            linked = self._linked()
            self.redis.delete(
                keys.simulator(self.instance_id, "session"), keys.simulator(self.instance_id, "offline")
            )
            self._set_status("logged_out", qr="", qr_expires_at="", phone_number="", push_name="")
            self.sink.emit(
                {"kind": "session", "status": "logged_out", "phone_number": linked.get("phone_number")}
            )
        self._wake.set()

    def reconnect(self) -> None:
        """Reconnect a linked phone now: ends the simulated outage (POST /api/simulator/reconnect, "Reconnect now")."""
        # The simulated network always answers a reconnect, so a dropped session can be brought back
        # from the dashboard as well as from the API; only an unlinked phone has nothing to reconnect.
        with self._lock:
            linked = self._linked()
            if not linked:
                raise DriverError(
                    f"The simulated phone is not linked (status: {self._status}): scan the QR code first."
                )
            self.redis.delete(keys.simulator(self.instance_id, "offline"))
            if self._status != "connected":
                self._connect(linked)

    def forget(self) -> None:
        """Remove the simulated phone, network and outbox of a deleted instance."""
        names = list(self.redis.scan_iter(match=keys.simulator(self.instance_id, "*"), count=100))
        if names:
            self.redis.delete(*names)

    # -- simulator control -----------------------------------------------------
    def control(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Act on the simulated phone/network."""
        handler = getattr(self, f"_control_{action.replace('-', '_')}", None)
        if handler is None:
            raise DriverError(f"Unknown simulator action {action!r}.")
        with self._lock:
            return handler(params)

    def _control_scan(self, params: dict[str, Any]) -> dict[str, Any]:
        """The simulated phone scans the QR code shown: linked and connected."""
        if self._status != "qr":
            raise DriverError(f"There is no QR code to scan (status: {self._status}).")
        phone_number, push_name = params["phone_number"], params.get("push_name") or ""
        # Written as a literal: redis-py types hash fields as a union that a dict[str, …] cannot match.
        self.redis.hset(
            keys.simulator(self.instance_id, "session"),
            mapping={"phone_number": phone_number, "push_name": push_name},
        )
        self._connect({"phone_number": phone_number, "push_name": push_name})
        self._wake.set()
        return {"status": "connected"}

    def _require_connected(self) -> None:
        """Raise NotConnected unless connected."""
        if self._status != "connected":
            raise NotConnected(self._status)

    def _control_incoming(self, params: dict[str, Any]) -> dict[str, Any]:
        """A message arrives from the simulated network (optionally with base64 media)."""
        self._require_connected()
        media_bytes = base64.b64decode(params["media"]) if params.get("media") else None
        wa_id = params.get("id") or new_message_id()
        is_group = bool(params.get("is_group"))
        event = {
            "kind": "message",
            "wa_id": wa_id,
            "from": params["from"].lstrip("+"),
            "push_name": params.get("push_name") or "",
            "chat": (params.get("chat") or "120363000000000000@g.us") if is_group else None,
            "is_group": is_group,
            "type": params.get("type") or "text",
            "text": incoming_text(params),
            "timestamp": int(time.time()),
            "media": None,
            **incoming_details(params),
        }
        if media_bytes is not None:
            event["media"] = {
                "mime_type": params.get("mime_type") or "application/octet-stream",
                "file_name": params.get("file_name"),
                "size": len(media_bytes),
            }
        self.sink.emit(event, media=media_bytes)
        return {"id": wa_id}

    def _control_receipt(self, params: dict[str, Any]) -> dict[str, Any]:
        """A delivered / read / played receipt arrives for a sent message."""
        self._require_connected()
        event = {
            "kind": "receipt",
            "wa_ids": [params["message_id"]],
            "status": params["status"],
            "timestamp": int(time.time()),
            "chat": params.get("chat") or "",
        }
        self.sink.emit(event)
        return {"status": params["status"]}

    def _control_disconnect(self, _params: dict[str, Any]) -> dict[str, Any]:
        """The simulated network goes down (the link is kept)."""
        if self._status != "connected":
            raise DriverError(f"The session is not connected (status: {self._status}).")
        self.redis.set(keys.simulator(self.instance_id, "offline"), "1")
        self._set_status("disconnected", last_error="simulated network disconnect")
        linked = self._linked()
        self.sink.emit(
            {"kind": "session", "status": "disconnected", "phone_number": linked.get("phone_number")}
        )
        return {"status": "disconnected"}

    def _control_delay_next(self, params: dict[str, Any]) -> dict[str, Any]:
        """The next send takes params["seconds"] (a slow network)."""
        self.redis.set(keys.simulator(self.instance_id, "delay_next"), str(params["seconds"]), ex=600)
        return {"armed": True}

    def _control_fail_next(self, params: dict[str, Any]) -> dict[str, Any]:
        """The next send is refused with params["message"]."""
        message = params.get("message") or "simulated failure"
        self.redis.set(keys.simulator(self.instance_id, "fail_next"), message, ex=600)
        return {"armed": True}
