"""An instance's live state in words and a colour, as the instances list and the instance page show it."""

import math
from dataclasses import asdict, dataclass
from typing import Any

# The start of last_error (as the drivers word it) → the few words that say why a session is down.
_REASONS = (
    ("cannot reach WhatsApp", "no network"),
    ("connection to WhatsApp lost", "connection lost"),
    ("simulated network disconnect", "no network (simulated)"),
    ("pairing timed out", "no QR code scanned in time"),
    ("no answer from WhatsApp", "WhatsApp did not answer"),
    ("cannot open the WhatsApp session store", "session store unavailable"),
    ("cannot load the WhatsApp driver", "driver failed to load"),
    ("another client took over", "another client took over"),
)

_FIXED = {
    "starting": ("Starting…", "starting"),
    "qr": ("Waiting for QR scan", "qr"),
    "connected": ("Connected", "connected"),
    "logged_out": ("Logged out — link it again", "logged_out"),
}


@dataclass(frozen=True)
class StatusView:
    """What a page shows of a session's state."""

    status: str  # the contract's status, or "not started" when no runner serves the instance
    words: str
    chip: str  # the chip-<chip> CSS class
    can_reconnect: bool

    def as_json(self) -> dict[str, Any]:
        """For the live endpoint."""
        return asdict(self)


def reason(last_error: str) -> str:
    """A short cause for a disconnection, or "" when last_error names none we know."""
    for start, words in _REASONS:
        if last_error.startswith(start):
            return words
    return ""


def _disconnected(state: dict[str, Any], now: float) -> str:
    """ "Disconnected — no network: retrying in 20 s" and its shorter forms."""
    cause = reason(state.get("last_error") or "")
    retry_at = float(state.get("retry_at") or 0)
    retry = ""
    if retry_at:
        seconds = math.ceil(retry_at - now)
        retry = f"retrying in {seconds} s" if seconds > 0 else "retrying now"
    if cause and retry:
        return f"Disconnected — {cause}: {retry}"
    if cause or retry:
        return f"Disconnected — {cause or retry}"
    return "Disconnected"


def describe(state: dict[str, Any], now: float) -> StatusView:
    """The words and colour for a state as read_state returns it (now: Unix seconds)."""
    if not state.get("alive"):
        return StatusView("not started", "Not running — the worker is not serving it", "not-started", False)
    status = str(state.get("status") or "starting")
    if status == "disconnected":
        return StatusView(status, _disconnected(state, now), "disconnected", True)
    words, chip = _FIXED.get(status, (status.replace("_", " ").capitalize(), "not-started"))
    return StatusView(status, words, chip, False)
