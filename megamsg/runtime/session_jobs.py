"""Jobs that run inside a session runner, next to the live WhatsApp client."""

from typing import Any

from megamsg import keys
from megamsg.pacing import mark_departure, wait_for_turn
from megamsg.redis_conn import as_bytes, get_redis
from megamsg.runtime.drivers.base import Driver, DriverError, OutgoingMessage
from megamsg.runtime.feature_jobs import FEATURES

# instance id → (driver, sink) of each session this runner hosts right now.
_active: dict[str, tuple[Driver, Any]] = {}


def set_active(instance_id: str, driver: Driver, sink: Any) -> None:
    """Register a hosted session's driver (its jobs run next to it)."""
    _active[instance_id] = (driver, sink)


def unset_active(instance_id: str, driver: Driver) -> None:
    """Forget a session that ended (only if it is still the registered one)."""
    if _active.get(instance_id, (None, None))[0] is driver:
        del _active[instance_id]


def _session(instance_id: str) -> tuple[Driver, Any]:
    session = _active.get(instance_id)
    if session is None:
        raise DriverError("This runner does not serve that instance.")
    return session


def send(instance_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """Send one message; the outcome also goes to the events queue for the message log."""
    driver, sink = _session(instance_id)
    client = get_redis(sink.config)
    pace = message.get("pace")
    if pace:
        # Before the claim: a message cancelled while it waits for its turn is never sent.
        wait_for_turn(client, instance_id, message["id"], int(pace["at_ms"]), int(pace["interval_ms"]))
    if not client.set(keys.send_claim(message["id"]), "started", nx=True, ex=24 * 3600):
        return {"ok": False, "cancelled": True, "error": "cancelled before it started"}
    media = None
    if message.get("has_media"):
        parked = client.get(keys.outgoing_media(message["id"]))
        if parked is None:
            expired = {"ok": False, "error": "media expired before the message could be sent"}
            sink.emit({"kind": "send_result", "message_id": message["id"], **expired})
            return expired
        media = as_bytes(parked)
    outgoing = OutgoingMessage(
        id=message["id"],
        to=message["to"],
        type=message["type"],
        text=message.get("text"),
        caption=message.get("caption"),
        media=media,
        mime_type=message.get("mime_type"),
        file_name=message.get("file_name"),
        ptt=bool(message.get("ptt")),
        details=message.get("details") or {},
    )
    outcome: dict[str, Any]
    try:
        wa_id = driver.send(outgoing)
        outcome = {"ok": True, "wa_id": wa_id}
    except DriverError as exc:
        outcome = {"ok": False, "error": str(exc), "status": driver.status()}
    except Exception as exc:  # noqa: BLE001 - a driver bug must still end the message as failed
        outcome = {"ok": False, "error": f"WhatsApp client error: {type(exc).__name__}: {exc}"}
    finally:
        client.delete(keys.outgoing_media(message["id"]))
        if pace:
            # Counted from the end of this send, so the next one leaves at least an interval later.
            mark_departure(client, instance_id)
    sink.emit({"kind": "send_result", "message_id": message["id"], **outcome})
    return outcome


def control(instance_id: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
    """pair-code, logout, reconnect, or a simulator action; errors come back as {"ok": False, "error"}."""
    driver, _sink = _session(instance_id)
    try:
        if action == "pair_code":
            return {"ok": True, "code": driver.pair_code(params["phone_number"])}
        if action == "logout":
            driver.logout()
            return {"ok": True}
        if action == "reconnect":
            driver.reconnect()
            return {"ok": True, "status": driver.status()}
        if action in FEATURES:
            return {"ok": True, **FEATURES[action](driver, params)}
        return {"ok": True, **driver.control(action, params)}
    except DriverError as exc:
        return {"ok": False, "error": str(exc), "status": driver.status()}
