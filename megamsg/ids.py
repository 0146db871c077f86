"""Random identifiers: instances, messages, webhook events and tokens."""

import secrets


def new_instance_id() -> str:
    """An unguessable instance id."""
    return "inst_" + secrets.token_hex(12)


def new_message_id() -> str:
    """A message id in WhatsApp's usual shape (the simulator keeps it as the network id)."""
    return "3EB0" + secrets.token_hex(8).upper()


def new_event_id() -> str:
    """A fresh webhook-id."""
    return "msg_" + secrets.token_hex(12)
