"""Standard Webhooks signing: "whsec_…" secrets and the `webhook-signature` value."""

import base64
import binascii
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24


class SecretError(ValueError):
    """The stored webhook secret cannot sign (message says why)."""


def new_secret() -> str:
    """A fresh Standard Webhooks secret: "whsec_" + standard base64 of 24 random bytes."""
    # Standard (not URL-safe) base64: Standard Webhooks libraries decode the secret with it.
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key for a "whsec_…" secret, decoded as the Standard Webhooks libraries do."""
    body = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        # Same call as the reference `standardwebhooks` package, so our signatures verify there.
        key = base64.b64decode(body + "==")
    except (binascii.Error, ValueError):
        # Older URL-safe secrets that standard base64 cannot decode at all.
        key = base64.urlsafe_b64decode(body + "==")
    if not key:
        raise SecretError("webhook secret is empty.")
    return key


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value for one attempt: v1,<base64 HMAC-SHA256 of id.timestamp.body>."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
