"""JSON values written as PHP, JavaScript and Python literals (for the code examples)."""

import json
import re
from typing import Any

IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
ONE_LINE = 72  # longer literals get one entry per line


def php(value: Any, indent: str = "") -> str:
    """A PHP literal: arrays with =>, single-quoted strings."""
    if isinstance(value, dict):
        entries = [f"{php(str(key))} => {php(item, indent + '    ')}" for key, item in value.items()]
        return _block("[", entries, "]", indent, force=True)
    if isinstance(value, list):
        return _block("[", [php(item, indent + "    ") for item in value], "]", indent)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return _scalar(value)


def javascript(value: Any, indent: str = "") -> str:
    """A JavaScript literal: identifier keys unquoted."""
    if isinstance(value, dict):
        entries = [
            f"{key if IDENTIFIER.match(str(key)) else json.dumps(str(key))}: {javascript(item, indent + '  ')}"
            for key, item in value.items()
        ]
        return _block("{ ", entries, " }", indent, inner="  ") if entries else "{}"
    if isinstance(value, list):
        return _block("[", [javascript(item, indent + "  ") for item in value], "]", indent, inner="  ")
    return json.dumps(value, ensure_ascii=False)


def python(value: Any, indent: str = "") -> str:
    """A Python literal with double-quoted strings."""
    if isinstance(value, dict):
        entries = [f"{json.dumps(str(key))}: {python(item, indent + '    ')}" for key, item in value.items()]
        return _block("{", entries, "}", indent)
    if isinstance(value, list):
        return _block("[", [python(item, indent + "    ") for item in value], "]", indent)
    if value is None or isinstance(value, bool):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _block(
    opening: str, entries: list[str], closing: str, indent: str, *, inner: str = "    ", force: bool = False
) -> str:
    """Entries on one line when short, else one per line (with a trailing comma)."""
    one_line = opening + ", ".join(entries) + closing
    if not entries:
        return opening.strip() + closing.strip()
    if not force and len(one_line) + len(indent) <= ONE_LINE and "\n" not in one_line:
        return one_line
    lines = "".join(f"{indent}{inner}{entry},\n" for entry in entries)
    return f"{opening.strip()}\n{lines}{indent}{closing.strip()}"
