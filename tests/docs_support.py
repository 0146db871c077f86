"""Helpers for the /docs tests: the page's code examples, schema checks, a real browser."""

import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC_URI = "urn:megamsg:docs-check"
SCREENSHOTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "screenshots")


class _Examples(HTMLParser):
    """Collects the text of every <pre data-example=…> with its data attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[dict[str, str]] = []
        self.current: dict[str, str] | None = None
        self.operations: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "data-operation" in attributes:
            self.operations.append(attributes["data-operation"])
        if tag == "pre" and "data-example" in attributes:
            self.current = {
                "id": attributes["data-example"],
                "lang": attributes.get("data-lang", ""),
                "code": "",
            }

    def handle_endtag(self, tag):
        if tag == "pre" and self.current is not None:
            self.found.append(self.current)
            self.current = None

    def handle_data(self, data):
        if self.current is not None:
            self.current["code"] += data


def page_examples(html: str) -> list[dict[str, str]]:
    """Every code example on a page: {"id", "lang", "code"}, in page order."""
    parser = _Examples()
    parser.feed(html)
    return parser.found


def page_operations(html: str) -> list[str]:
    """The "METHOD /path" of every section marked with data-operation."""
    parser = _Examples()
    parser.feed(html)
    return parser.operations


def example(html: str, example_id: str, lang: str) -> str:
    """One example's code (fails when the page does not have it)."""
    matches = [
        found["code"] for found in page_examples(html) if found["id"] == example_id and found["lang"] == lang
    ]
    assert len(matches) == 1, f"expected one {lang} example {example_id!r}, found {len(matches)}"
    return matches[0]


def with_credentials(code: str, instance_id: str, token: str) -> str:
    """An example with the reader's placeholders filled in."""
    return code.replace("YOUR_TOKEN", token).replace("YOUR_INSTANCE_ID", instance_id)


def schema_errors(doc: dict, schema: Any, instance: Any) -> list[str]:
    """Why instance breaks schema (its $refs resolved in doc); empty when it is valid."""
    holder = {**doc, "x-checked": schema}
    registry = Registry().with_resource(
        DOC_URI, Resource.from_contents(holder, default_specification=DRAFT202012)
    )
    validator = Draft202012Validator({"$ref": DOC_URI + "#/x-checked"}, registry=registry)
    return [f"at {list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(instance)]


# --- running the page's examples ---------------------------------------------------------------

ILLUMINATE = "/usr/share/php/Illuminate"
# What a Laravel app has set up before a controller runs: the autoloaders of Debian's packages,
# the Http facade over Illuminate\Http\Client\Factory (Composer is not reachable here) and its
# global alias "Http" (config/app.php's aliases).
PHP_BOOTSTRAP = f"""<?php
require_once '{ILLUMINATE}/Http/autoload.php';
require_once '/usr/share/php/GuzzleHttp/autoload.php';
Illuminate\\Support\\Facades\\Facade::setFacadeApplication(
    [Illuminate\\Http\\Client\\Factory::class => new Illuminate\\Http\\Client\\Factory()]
);
class_alias(Illuminate\\Support\\Facades\\Http::class, 'Http');
"""


def require_tool(language: str) -> None:
    """Skip (fail in CI) when the interpreter an example needs is missing (make system-deps installs it)."""
    needed = {
        "shell": [shutil.which("curl")],
        "javascript": [shutil.which("node")],
        "php": [shutil.which("php"), os.path.exists(f"{ILLUMINATE}/Http/Client/Factory.php") or None],
        "python": [True],
        "openssl": [shutil.which("openssl")],
    }[language]
    if all(needed):
        return
    message = f"the {language} examples need tools that are missing (make system-deps)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run_request_example(language: str, code: str, cwd: str) -> tuple[int, str]:
    """Run a request example as a reader would; return (HTTP status, output)."""
    require_tool(language)
    env = {**os.environ}
    if language == "shell":
        # curl reads $CURL_HOME/.curlrc: it prints the status without touching the example itself.
        with open(os.path.join(cwd, ".curlrc"), "w") as rc:
            rc.write('silent\nshow-error\nwrite-out = "\\nHTTP %{http_code}\\n"\n')
        command = ["bash", "-c", code]
        env["CURL_HOME"] = cwd
    elif language == "python":
        command = [sys.executable, "-c", code]
    elif language == "javascript":
        command = ["node", "--input-type=module", "-e", code]
    else:
        script = os.path.join(cwd, "example.php")
        with open(script, "w") as handle:
            handle.write(PHP_BOOTSTRAP + code + '\necho "\\n", $response->status(), "\\n";\n')
        command = ["php", script]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, f"{language} example failed:\n{code}\n{result.stdout}\n{result.stderr}"
    output = result.stdout.strip()
    if language == "shell":
        status = output.rsplit("HTTP ", 1)[-1]
    elif language == "php":
        status = output.splitlines()[-1]
    else:
        status = output.split()[0]
    return int(status), output
