"""The guide's provisioning section: the account API's operations and the curl walkthrough."""

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, replace

from megamsg.web.api.openapi_account import TAG
from megamsg.web.docs.code_examples import Call, curl
from megamsg.web.docs.openapi_view import Operation, Response

ACCOUNT_KEY = "YOUR_ACCOUNT_KEY"
INSTANCE_ID = "INSTANCE_ID"
INSTANCE_TOKEN = "INSTANCE_TOKEN"
CURL_SEPARATOR = " \\\n  "


@dataclass(frozen=True)
class AccountEndpoint:
    """An account API operation with its curl example and sample answer."""

    operation: Operation
    curl: str
    success: Response | None


@dataclass(frozen=True)
class Step:
    """One step of the walkthrough."""

    title: str
    text: str
    code: str


def with_account_key(command: str) -> str:
    """A curl command (written without credentials) with the account key's header added."""
    first, *rest = command.split(CURL_SEPARATOR)
    return CURL_SEPARATOR.join([first, f'-H "Authorization: Bearer {ACCOUNT_KEY}"', *rest])


def account_endpoints(ops: list[Operation], make_call: Callable[[Operation], Call]) -> list[AccountEndpoint]:
    """The account operations, each with a curl that carries the account key (not the instance's headers)."""
    found = []
    for operation in ops:
        if operation.tag != TAG:
            continue
        command = with_account_key(curl(replace(make_call(operation), authenticated=False)))
        success = next((response for response in operation.responses if response.success), None)
        found.append(AccountEndpoint(operation, command, success))
    return found


def _instance_headers() -> list[str]:
    return [f'-H "Authorization: Bearer {INSTANCE_TOKEN}"', f'-H "X-Instance-Id: {INSTANCE_ID}"']


def _json_body(body: dict) -> list[str]:
    return ['-H "Content-Type: application/json"', "-d " + shlex.quote(json.dumps(body))]


def walkthrough(base_url: str, simulator: bool) -> list[Step]:
    """Create an instance, fetch its QR, wait for connected, send, delete: ready-to-paste curl."""
    account = f'-H "Authorization: Bearer {ACCOUNT_KEY}"'
    instance_url = f"{base_url}/api/account/instances/{INSTANCE_ID}"
    steps = [
        Step(
            "Create an instance",
            "With your account key. The answer holds the new instance's id and its 64-character token, "
            "shown in this answer only: keep both (below: INSTANCE_ID and INSTANCE_TOKEN).",
            CURL_SEPARATOR.join(
                [
                    f"curl -X POST {base_url}/api/account/instances",
                    account,
                    *_json_body({"name": "Customer 42"}),
                ]
            ),
        ),
        Step(
            "Fetch its QR code",
            "With the instance's own token, so your product can show the QR to its customer. It answers 409 "
            "for the first seconds while the session starts: ask again. The QR rotates; fetch it again "
            "when expires_in runs out (or link with POST /api/whatsapp/instance/pair-code instead).",
            CURL_SEPARATOR.join([f"curl {base_url}/api/whatsapp/instance/qr", *_instance_headers()]),
        ),
    ]
    if simulator:
        steps.append(
            Step(
                "Scan it (simulator only)",
                "On a server that runs the simulator driver, a simulated phone scans the QR code. "
                "With real WhatsApp, the phone's owner scans it under Settings → Linked devices.",
                CURL_SEPARATOR.join(
                    [
                        f"curl -X POST {base_url}/api/simulator/scan",
                        *_instance_headers(),
                        *_json_body({"phone_number": "+201234567890", "push_name": "Customer 42"}),
                    ]
                ),
            )
        )
    steps += [
        Step(
            "Wait for connected",
            "Poll the instance's status with your account key until it is connected (or use the session webhook).",
            f'until curl -s {instance_url} \\\n    {account} | grep -q \'"status": *"connected"\'; do\n'
            "  sleep 2\ndone",
        ),
        Step(
            "Send a message",
            "With the instance's token, as always.",
            CURL_SEPARATOR.join(
                [
                    f"curl -X POST {base_url}/api/whatsapp/messages/send",
                    *_instance_headers(),
                    *_json_body({"phone_number": "+201234567890", "text": "Hello from MegaMsg!"}),
                ]
            ),
        ),
        Step(
            "Delete the instance",
            "Logs the WhatsApp session out and removes the instance's messages and webhook history; its "
            "token stops working at once.",
            CURL_SEPARATOR.join([f"curl -X DELETE {instance_url}", account]),
        ),
    ]
    return steps
