"""WhatsApp drivers: the seam between a session runner and the WhatsApp network."""

from typing import Any

from megamsg.config import DRIVERS
from megamsg.runtime.drivers.base import Driver, EventSink


def load_driver(name: str, instance_id: str, config: dict[str, Any], sink: EventSink) -> Driver:
    """Import (only) the chosen driver and build it for one instance."""
    if name == "simulator":
        from megamsg.runtime.drivers.simulator import SimulatorDriver

        return SimulatorDriver(instance_id, config, sink)
    if name == "neonize":
        from megamsg.runtime.drivers.neonize.driver import NeonizeDriver

        return NeonizeDriver(instance_id, config, sink)
    raise ValueError(f"Unknown WhatsApp driver {name!r}; use one of {', '.join(DRIVERS)}.")
