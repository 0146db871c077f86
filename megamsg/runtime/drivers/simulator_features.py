"""The simulator's answers beyond sending: which numbers are on WhatsApp, which groups the phone is in."""

import json
import threading
import time
from typing import Any

from redis import Redis

from megamsg import keys
from megamsg.redis_conn import as_text
from megamsg.runtime.drivers.base import DriverError


def outbox_details(details: dict[str, Any]) -> dict[str, Any]:
    """What the outbox shows of a sent message's details: the quoted id, the location, the reaction."""
    shown: dict[str, Any] = {}
    if details.get("reply_to"):
        shown["reply_to"] = details["reply_to"]["id"]
    if details.get("location"):
        shown["location"] = details["location"]
    if details.get("reaction"):
        shown["reaction"] = {"message_id": details["reaction"]["id"], "emoji": details["reaction"]["emoji"]}
    return shown


ACTIVITY_LIMIT = 1000


def incoming_text(params: dict[str, Any]) -> str:
    """The event's text: the text or caption; a reaction's emoji; a location's coordinates and label."""
    kind = params.get("type")
    if kind == "reaction":
        return str(params.get("emoji") or "")
    if kind == "location" and params.get("latitude") is not None:
        label = ", ".join(part for part in (params.get("name"), params.get("address")) if part)
        coordinates = f"{params['latitude']},{params['longitude']}"
        return f"{coordinates} ({label})" if label else coordinates
    if kind == "deleted":
        return ""
    return str(params.get("text") or params.get("caption") or "")


def incoming_details(params: dict[str, Any]) -> dict[str, Any]:
    """The event fields of an injected reply, location, reaction, edit or deletion (as neonize's)."""
    kind, target = params.get("type"), params.get("message_id")
    details: dict[str, Any] = {}
    if params.get("reply_to"):
        details["reply_to"] = {"id": params["reply_to"], "from": None}
    if kind == "location" and params.get("latitude") is not None:
        details["location"] = {
            name: params.get(name) for name in ("latitude", "longitude", "name", "address")
        }
    elif kind == "reaction":
        details["reaction"] = {"id": target, "from_me": bool(params.get("from_me")), "emoji": params["emoji"]}
    elif kind == "edited":
        details["edited"] = {"id": target, "text": params.get("text") or ""}
    elif kind == "deleted":
        details["deleted"] = {"id": target}
    return details


class SimulatorFeatures:
    """Mixin of SimulatorDriver: number checks and groups, declared through control actions."""

    instance_id: str
    redis: Redis
    _lock: threading.RLock

    def _require_connected(self) -> None:
        raise NotImplementedError

    def check_numbers(self, numbers: list[str]) -> list[dict[str, Any]]:
        """Every number is on WhatsApp unless declared otherwise (POST /api/simulator/numbers)."""
        with self._lock:
            self._require_connected()
            digits = [number.lstrip("+") for number in numbers]
            declared = self.redis.hmget(keys.simulator(self.instance_id, "numbers"), digits) if digits else []
        results = []
        for number, user, flag in zip(numbers, digits, declared, strict=True):
            on = flag is None or as_text(flag) == "1"
            results.append(
                {"phone_number": number, "on_whatsapp": on, "wa_id": f"{user}@s.whatsapp.net" if on else None}
            )
        return results

    def groups(self) -> list[dict[str, Any]]:
        """The groups declared with POST /api/simulator/groups, by id."""
        with self._lock:
            self._require_connected()
            raw = self.redis.hgetall(keys.simulator(self.instance_id, "groups"))
        groups = [json.loads(as_text(value)) for value in raw.values()]
        return sorted(groups, key=lambda group: group["id"])

    def has_group(self, group_id: str) -> bool:
        """Whether the simulated phone is in that group."""
        return bool(self.redis.hexists(keys.simulator(self.instance_id, "groups"), group_id))

    def refuse_unknown_group(self, to: str) -> None:
        """WhatsApp refuses a send to a group the phone is not in."""
        if to.endswith("@g.us") and not self.has_group(to):
            raise DriverError(f"WhatsApp refused the message: this number is not in the group {to}.")

    def _record_activity(self, entry: dict[str, Any]) -> None:
        """Keep what the simulated network was told besides messages (GET /api/simulator/activity)."""
        name = keys.simulator(self.instance_id, "activity")
        pipe = self.redis.pipeline()
        pipe.rpush(name, json.dumps({**entry, "at": time.time()}))
        pipe.ltrim(name, -ACTIVITY_LIMIT, -1)
        pipe.execute()

    def mark_read(self, message: dict[str, Any]) -> None:
        """The simulated network gets a read receipt for an incoming message."""
        with self._lock:
            self._require_connected()
            self._record_activity({"kind": "read", "message_id": message["id"], "chat": message["chat"]})

    def send_presence(self, to: str, state: str) -> None:
        """The simulated network gets a typing / recording / paused indicator."""
        with self._lock:
            self._require_connected()
            self.refuse_unknown_group(to)
            self._record_activity({"kind": "presence", "to": to, "state": state})

    def _control_declare_numbers(self, params: dict[str, Any]) -> dict[str, Any]:
        """Declare numbers on WhatsApp (or not)."""
        flag = "1" if params["on_whatsapp"] else "0"
        mapping = {number.lstrip("+"): flag for number in params["phone_numbers"]}
        self.redis.hset(keys.simulator(self.instance_id, "numbers"), mapping=mapping)
        return {"count": len(mapping)}

    def _control_declare_groups(self, params: dict[str, Any]) -> dict[str, Any]:
        """Replace the groups the simulated phone is in."""
        name = keys.simulator(self.instance_id, "groups")
        pipe = self.redis.pipeline()
        pipe.delete(name)
        for group in params["groups"]:
            pipe.hset(name, group["id"], json.dumps(group))
        pipe.execute()
        return {"count": len(params["groups"])}
