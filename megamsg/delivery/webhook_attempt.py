"""One webhook attempt over HTTP: a signed POST, bounded in time and size, described safely."""

import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import requests

from megamsg import net_errors, netguard
from megamsg.signing import sign

EXCERPT_BYTES = 1024
USER_AGENT = "MegaMsg-Webhook/1"


@dataclass
class AttemptResult:
    """What one POST gave: an HTTP answer, or an error (final when retrying cannot help)."""

    status_code: int | None = None
    excerpt: str | None = None
    error: str | None = None
    retry_after: float | None = None
    final: bool = False
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        """Any 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_headers(secret: str, event_id: str, body: bytes) -> dict[str, str]:
    """Standard Webhooks headers for an attempt made now."""
    timestamp = int(time.time())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, event_id, timestamp, body),
    }


def post(
    url: str, headers: dict[str, str], body: bytes, timeout: float, allow_private: bool
) -> AttemptResult:
    """POST once; the whole attempt (not just each connect and read) is bounded by timeout."""
    result = AttemptResult()
    started = time.monotonic()
    with netguard.deadline(timeout) as expired:
        try:
            _send(result, url, headers, body, timeout, allow_private)
        except netguard.BlockedURL as exc:
            result.error, result.final = f"Refused by the URL guard: {exc}.", True
        except requests.Timeout:
            result.error = f"Timeout: no answer within {timeout:g} s."
        except net_errors.NETWORK_ERRORS as exc:
            result.error = f"Connection error: {net_errors.describe(exc, timeout)}."
        except Exception as exc:
            # Includes RQ's job timeout and reading errors: still one (failed) attempt, recorded.
            result.error = f"{type(exc).__name__}: {_short(exc)}"
    if expired.is_set():
        # A cut connection can even parse as a complete answer: the attempt failed.
        result = AttemptResult(error=f"Timeout: no complete answer within {timeout:g} s.")
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result


def _send(
    result: AttemptResult, url: str, headers: dict[str, str], body: bytes, timeout: float, allow_private: bool
) -> None:
    response = netguard.request(
        "POST",
        url,
        allow_private=allow_private,
        timeout=timeout,
        max_redirects=0,
        data=body,
        headers=headers,
        stream=True,
    )
    try:
        result.status_code = response.status_code
        # Only the excerpt is read: a receiver cannot make us buffer a huge answer.
        result.excerpt = response.raw.read(EXCERPT_BYTES, decode_content=True).decode("utf-8", "replace")
    finally:
        response.close()
    result.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if not result.succeeded and result.status_code is not None:
        redirect = 300 <= result.status_code < 400
        result.error = f"HTTP {result.status_code}" + (" (redirects are not followed)" if redirect else "")


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
