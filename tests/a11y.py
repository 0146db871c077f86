"""Accessibility check of a page in the browser: axe-core from npm (tests/axe), injected into the page."""

import functools
from collections.abc import Mapping
from pathlib import Path

from tests.processes import REPO

AXE_JS = Path(REPO, "tests", "axe", "node_modules", "axe-core", "axe.min.js")
FAILING_IMPACTS = ("serious", "critical")
NODES_SHOWN = 3

# Playwright evaluates through the DevTools protocol, which the pages' same-origin CSP does not
# govern: axe gets in without loosening the policy under test.
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  }));
}"""


@functools.cache
def axe_source() -> str:
    """axe.min.js as installed by `make test` (npm ci --prefix tests/axe)."""
    if not AXE_JS.exists():
        raise AssertionError(f"{AXE_JS} is missing: run `npm ci --prefix tests/axe` (make test does)")
    return AXE_JS.read_text(encoding="utf-8")


def violations(page) -> list[dict]:
    """Every axe violation on the page as it is now (all impacts)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return page.evaluate(RUN_AXE)


def assert_accessible(page, name: str, ignore: Mapping[str, str] | None = None) -> None:
    """Fail listing every serious or critical axe violation on the page, with a few of its elements.

    ignore maps the ids of rules known to fail on vendored markup to the reason; they are not counted.
    """
    found = [v for v in violations(page) if v["impact"] in FAILING_IMPACTS and v["id"] not in (ignore or {})]
    lines = [
        f"{v['impact']} {v['id']}: {v['help']} ({len(v['targets'])} elements: "
        + ", ".join(v["targets"][:NODES_SHOWN])
        + (", …" if len(v["targets"]) > NODES_SHOWN else "")
        + ")"
        for v in found
    ]
    assert not found, f"axe on {name} ({page.url}):\n" + "\n".join(lines)
