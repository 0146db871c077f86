"""The simulator's burst: many incoming messages over time, delivered by the runner itself.

A burst goes on without any further call from outside, so it also produces events while Redis
is away (how the spool is tested) and lets crash drills kill a process in the middle of one.
"""

import threading
import time
from typing import Any

from megamsg.ids import new_message_id
from megamsg.runtime.drivers.base import EventSink


class SimulatorBurst:
    """Mixin of SimulatorDriver: POST /api/simulator/incoming-burst."""

    sink: EventSink
    _stop: threading.Event

    def _require_connected(self) -> None:
        raise NotImplementedError

    def _control_incoming_burst(self, params: dict[str, Any]) -> dict[str, Any]:
        """Start count text messages from one sender, interval_ms apart; answer their ids at once."""
        self._require_connected()
        prefix = new_message_id()
        ids = [f"{prefix}-{n}" for n in range(1, int(params["count"]) + 1)]
        thread = threading.Thread(target=self._burst, args=(ids, params), name="simulator-burst", daemon=True)
        thread.start()
        return {"ids": ids}

    def _burst(self, ids: list[str], params: dict[str, Any]) -> None:
        interval = float(params["interval_ms"]) / 1000
        for n, wa_id in enumerate(ids, start=1):
            if n > 1 and self._stop.wait(interval):
                return  # the session stopped: the rest never reached this phone
            self.sink.emit(
                {
                    "kind": "message",
                    "wa_id": wa_id,
                    "from": params["from"].lstrip("+"),
                    "push_name": params.get("push_name") or "",
                    "chat": None,
                    "is_group": False,
                    "type": "text",
                    "text": f"{params['text']} {n}",
                    "timestamp": int(time.time()),
                    "media": None,
                }
            )
