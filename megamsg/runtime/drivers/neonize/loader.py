"""Importing neonize, with its side effects (root logging config, non-daemon threads) undone."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Neonize:
    """What the driver uses of neonize, named as neonize names it."""

    NewClient: Callable[..., Any]
    NeonizeError: type[Exception]
    DeviceProps: Any  # a generated protobuf class (neonize ships no type information)
    build_jid: Callable[..., Any]  # (user, server="s.whatsapp.net")
    handlers: dict[type, str]  # event class → kind; each kind needs an EventDispatch handler


_neonize: Neonize | None = None


class _DaemonThread(threading.Thread):
    """neonize runs its blocking Go call in a non-daemon thread; a stuck one would block exit."""

    def __init__(self, *args: Any, daemon: bool | None = None, **kwargs: Any) -> None:
        """A Thread that is a daemon whatever neonize asks."""
        super().__init__(*args, daemon=True, **kwargs)


def load_neonize() -> Neonize:
    """Import neonize once, undoing its logging.basicConfig and quieting its loggers."""
    global _neonize
    if _neonize is not None:
        return _neonize
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    import neonize.client as nz_client
    from neonize.events import (
        ClientOutdatedEv,
        ConnectedEv,
        DisconnectedEv,
        LoggedOutEv,
        MessageEv,
        ReceiptEv,
        StreamReplacedEv,
        TemporaryBanEv,
    )
    from neonize.exc import NeonizeError
    from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
    from neonize.utils.jid import build_jid

    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    # "neonize.utils.log"'s own level is what neonize hands to Go as the whatsmeow log level.
    for name in ("neonize", "neonize.utils.log", "whatsmeow", "Whatsmeow"):
        logging.getLogger(name).setLevel(logging.WARNING)
    nz_client.Thread = _DaemonThread
    _neonize = Neonize(
        NewClient=nz_client.NewClient,
        NeonizeError=NeonizeError,
        DeviceProps=DeviceProps,
        build_jid=build_jid,
        handlers={
            ConnectedEv: "connected",
            DisconnectedEv: "disconnected",
            LoggedOutEv: "logged_out",
            MessageEv: "message",
            ReceiptEv: "receipt",
            StreamReplacedEv: "stream_replaced",
            TemporaryBanEv: "temporary_ban",
            ClientOutdatedEv: "client_outdated",
        },
    )
    return _neonize
