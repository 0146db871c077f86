"""The README's client examples, run verbatim (URL and credentials substituted) against a live server."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, outbox
from tests.docs_support import PHP_BOOTSTRAP, require_tool

README = Path(REPO, "README.md").read_text()


def code_block(language: str, containing: str) -> str:
    """The README's first fenced block in language that contains the given text."""
    for block in re.findall(rf"```{language}\n(.*?)```", README, flags=re.S):
        if containing in block:
            return block
    raise AssertionError(f"README has no {language} block with {containing!r}")


def substituted(block: str, base_url: str, instance_id: str, token: str) -> str:
    return (
        block.replace("http://127.0.0.1:8000", base_url)
        .replace("YOUR_TOKEN", token)
        .replace("YOUR_INSTANCE_ID", instance_id)
    )


EXAMPLES = [
    ("curl", "sh", "curl -X POST", ["bash", "-c"]),
    ("python", "python", "requests.post", [sys.executable, "-c"]),
    ("javascript", "javascript", "fetch(", ["node", "--input-type=module", "-e"]),
    ("php", "php", "Http::withToken", ["php", "-r"]),
]


@pytest.mark.parametrize("name,language,marker,command", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_readme_example_sends_a_message(
    name, language, marker, command, live_server, client, connected_instance
):
    if command[0] == "node" and not shutil.which("node"):
        pytest.skip("node is not installed")
    if command[0] == "bash" and not shutil.which("curl"):
        pytest.skip("curl is not installed")
    instance, token, headers = connected_instance
    script = substituted(code_block(language, marker), live_server, instance["id"], token)
    if name == "php":
        require_tool("php")
        # What a Laravel app sets up before the example's line runs; then show the status.
        script = PHP_BOOTSTRAP.removeprefix("<?php\n") + script + '\necho $response->status(), "\\n";'
    result = subprocess.run([*command, script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "200" in result.stdout or '"ok":true' in result.stdout.replace(" ", ""), result.stdout
    [sent] = outbox(client, headers)
    assert sent["to"] == "+201234567890" and sent["text"] == "Hello from MegaMsg!"


def test_readme_success_shape_matches_the_api(client, connected_instance):
    _, _, headers = connected_instance
    response = client.post(
        "/api/whatsapp/messages/send", headers=headers, json={"phone_number": "+201234567890", "text": "x"}
    )
    documented = re.search(r"Success is `200 (\{.*?\})`", README).group(1)
    keys = set(re.findall(r'"(\w+)":', documented))
    assert keys == set(response.get_json())
    assert json.loads(documented.replace("…", ""))["status"] == response.get_json()["status"]


def test_readme_documents_every_setting():
    from megamsg.config import DEFAULTS

    names = {"REDIS_URL": "REDIS_URL", "PORT": "PORT"}
    missing = [key for key in DEFAULTS if f"`{names.get(key, 'MEGAMSG_' + key)}`" not in README]
    assert missing == []
