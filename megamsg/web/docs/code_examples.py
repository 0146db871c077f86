"""Ready-to-paste requests in cURL, PHP (Laravel Http), JavaScript (fetch) and Python (requests)."""

import json
import shlex
from dataclasses import dataclass
from typing import Any

from megamsg.web.docs import literals

TOKEN = "YOUR_TOKEN"
INSTANCE_ID = "YOUR_INSTANCE_ID"
LANGUAGES = {"shell": "cURL", "php": "PHP (Laravel)", "javascript": "JavaScript", "python": "Python"}
# Characters a shell would treat specially in an unquoted URL.
SHELL_SPECIAL = set("?&;*[]{}()<>|$`'\"\\ !#~")


@dataclass(frozen=True)
class CodeExample:
    """One tab: a language and its code."""

    language: str
    label: str
    code: str


@dataclass(frozen=True)
class Call:
    """An HTTP request to show: method, absolute URL, JSON body, whether it carries the credentials."""

    method: str
    url: str
    body: Any = None
    authenticated: bool = True
    instance_id: str = INSTANCE_ID
    timeout: int = 40
    download: bool = False


def examples(call: Call) -> list[CodeExample]:
    """The call in the four languages."""
    writers = {"shell": curl, "php": php, "javascript": javascript, "python": python}
    return [CodeExample(key, label, writers[key](call)) for key, label in LANGUAGES.items()]


def _quoted_url(url: str) -> str:
    return f'"{url}"' if SHELL_SPECIAL & set(url) else url


def curl(call: Call) -> str:
    """A curl command line, one option per line."""
    first = "curl"
    if call.method.upper() != "GET":
        first += f" -X {call.method.upper()}"
    if call.download:
        first += " -OJ"  # save under the file name the server gives
    lines = [f"{first} {_quoted_url(call.url)}"]
    if call.authenticated:
        lines += [f'-H "Authorization: Bearer {TOKEN}"', f'-H "X-Instance-Id: {call.instance_id}"']
    if call.body is not None:
        lines += [
            '-H "Content-Type: application/json"',
            "-d " + shlex.quote(json.dumps(call.body, ensure_ascii=False)),
        ]
    return " \\\n  ".join(lines)


def php(call: Call) -> str:
    """Laravel's Http client."""
    chain = "Http::"
    steps = []
    if call.authenticated:
        steps += [
            f"withToken('{TOKEN}')",
            f"withHeaders(['X-Instance-Id' => {literals.php(call.instance_id)}])",
        ]
    steps.append(f"timeout({call.timeout})")
    if call.download:
        steps.append("sink('media.bin')")
    method = call.method.lower()
    arguments = literals.php(call.url)
    if call.body is not None:
        arguments += ", " + literals.php(call.body, "    ")
    steps.append(f"{method}({arguments})")
    code = chain + steps[0] + "".join(f"\n    ->{step}" for step in steps[1:]) + ";"
    return f"use Illuminate\\Support\\Facades\\Http;\n\n$response = {code}"


def javascript(call: Call) -> str:
    """fetch (Node 18+ as an ES module, or a page on this server)."""
    headers = {}
    if call.authenticated:
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Instance-Id": call.instance_id}
    if call.body is not None:
        headers["Content-Type"] = "application/json"
    options = []
    if call.method.upper() != "GET":
        options.append(f'  method: "{call.method.upper()}",')
    if headers:
        entries = "".join(f"    {json.dumps(key)}: {json.dumps(value)},\n" for key, value in headers.items())
        options.append("  headers: {\n" + entries + "  },")
    if call.body is not None:
        options.append(f"  body: JSON.stringify({literals.javascript(call.body, '  ')}),")
    arguments = json.dumps(call.url) + (", {\n" + "\n".join(options) + "\n}" if options else "")
    result = (
        'Buffer.from(await response.arrayBuffer()).length, "bytes"'
        if call.download
        else "await response.json()"
    )
    return f"const response = await fetch({arguments});\nconsole.log(response.status, {result});"


def python(call: Call) -> str:
    """requests."""
    arguments = [json.dumps(call.url)]
    if call.authenticated:
        arguments.append(
            f'headers={{"Authorization": "Bearer {TOKEN}", "X-Instance-Id": {json.dumps(call.instance_id)}}}'
        )
    if call.body is not None:
        arguments.append(f"json={literals.python(call.body, '    ')}")
    arguments.append(f"timeout={call.timeout}")
    lines = "".join(f"    {argument},\n" for argument in arguments)
    result = "len(response.content)" if call.download else "response.json()"
    return (
        "import requests\n\n"
        f"response = requests.{call.method.lower()}(\n{lines})\n"
        f"print(response.status_code, {result})"
    )
