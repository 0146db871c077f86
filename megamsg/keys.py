"""Every Redis key and RQ queue name MegaMsg uses, in one place.

Everything of ours lives under `megamsg:`; RQ's own keys under `rq:`. Queues: `wa:<instance>`
(a runner's sends and control calls), `events` (what runners report), `webhooks:<n>` (deliveries).
"""

import hashlib
import zlib
from typing import Any

EVENTS_QUEUE = "events"
WEBHOOKS_QUEUE_PREFIX = "webhooks"  # "webhooks:0" … one queue per webhook worker


def session_queue(instance_id: str) -> str:
    """The queue a runner serves for one instance."""
    return f"wa:{instance_id}"


def webhook_queues(config: dict[str, Any]) -> list[str]:
    """Every webhook delivery queue: one per webhook worker."""
    return [f"{WEBHOOKS_QUEUE_PREFIX}:{n}" for n in range(max(1, int(config["WEBHOOK_WORKERS"])))]


def webhook_queue(config: dict[str, Any], instance_id: str) -> str:
    """An instance's delivery queue: a single worker serves it, so its events go out in order."""
    names = webhook_queues(config)
    return names[zlib.crc32(instance_id.encode()) % len(names)]


def state(instance_id: str) -> str:
    """Hash with the state the instance's runner publishes."""
    return f"megamsg:state:{instance_id}"


def lease(instance_id: str) -> str:
    """The instance's runner lease."""
    return f"megamsg:lease:{instance_id}"


def deleted(instance_id: str) -> str:
    """Set when an instance is deleted, so its runner also forgets the WhatsApp session."""
    return f"megamsg:deleted:{instance_id}"


def send_claim(message_id: str) -> str:
    """Decides, once, whether a send starts or was cancelled by the waiting web request."""
    return f"megamsg:sendclaim:{message_id}"


def outgoing_media(message_id: str) -> str:
    """Where the web parks an outgoing message's media bytes for the runner."""
    return f"megamsg:outmedia:{message_id}"


def incoming_media(instance_id: str, wa_id: str) -> str:
    """Where a runner parks downloaded media until the events job stores it."""
    return f"megamsg:inmedia:{instance_id}:{wa_id}"


def rate_window(instance_id: str, window: int) -> str:
    """Request counter of one instance for one minute."""
    return f"megamsg:rate:{instance_id}:{window}"


def login_failures(scope: str, kind: str, subject: str) -> str:
    """Failed dashboard logins (scope "login" or "setup") of one account or address (kind)."""
    # Hashed: the subject is whatever was typed into the form, of any length.
    digest = hashlib.sha256(subject.encode()).hexdigest()
    return f"megamsg:throttle:{scope}:{kind}:{digest}"


def one_time(stash_id: str) -> str:
    """A one-time secret on its way from a POST to the page that shows it once."""
    return f"megamsg:once:{stash_id}"


def simulator(instance_id: str, name: str) -> str:
    """The simulated phone's data (session, outbox, …) of one instance."""
    return f"megamsg:sim:{instance_id}:{name}"


def pace_next(instance_id: str) -> str:
    """The instance's next free departure time (ms since the epoch, Redis clock), reserved by senders."""
    return f"megamsg:pace:{instance_id}:next"


def pace_last(instance_id: str) -> str:
    """When the instance's runner last finished a send (ms since the epoch, Redis clock)."""
    return f"megamsg:pace:{instance_id}:last"


INSTANCES = "megamsg:instances"  # hash: every instance to serve → its deployment's tag (instance_registry)
SCHEDULER_TICK = "megamsg:scheduler:tick"  # one supervisor at a time moves due scheduled messages
