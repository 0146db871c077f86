"""Requests beyond sending that the web asks a runner's driver to answer (number checks, groups, …)."""

from collections.abc import Callable
from typing import Any

from megamsg.runtime.drivers.base import Driver

Feature = Callable[[Driver, dict[str, Any]], dict[str, Any]]


def _done(call: Callable[..., None], *args: Any) -> dict[str, Any]:
    """Make the call; an answer with nothing more to say."""
    call(*args)
    return {}


FEATURES: dict[str, Feature] = {
    "check_numbers": lambda driver, params: {"results": driver.check_numbers(list(params["phone_numbers"]))},
    "groups": lambda driver, _params: {"groups": driver.groups()},
    "mark_read": lambda driver, params: _done(driver.mark_read, params["message"]),
    "presence": lambda driver, params: _done(driver.send_presence, params["to"], params["state"]),
}
