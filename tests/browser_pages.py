"""Checks of public pages in a real browser (Debian chromium via Playwright): layout, requests, storage."""

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.processes import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = Path(REPO, "screenshots")  # ignored by git

# Every rendered element that sticks out of the viewport, unless a box around it scrolls or clips
# (a wide table inside its own scroll box is fine: the page itself does not scroll sideways).
LAYOUT_JS = """() => {
  const width = document.documentElement.clientWidth;
  const outside = [];
  for (const element of document.querySelectorAll('body *')) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left >= -1 && box.right <= width + 1) continue;
    let clipped = false;
    for (let parent = element.parentElement; parent && parent !== document.body; parent = parent.parentElement) {
      if (getComputedStyle(parent).overflowX !== 'visible') { clipped = true; break; }
    }
    if (!clipped) {
      outside.push(`${element.tagName.toLowerCase()}#${element.id}.${element.className} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  window.scrollTo(10000, window.scrollY);
  const scrolledX = window.scrollX;
  window.scrollTo(0, window.scrollY);
  return {width, scrollWidth: document.documentElement.scrollWidth, scrolledX, outside: outside.slice(0, 10)};
}"""


@contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator:
    """Debian's chromium under Playwright (skipped without it, except in CI)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (make system-deps installs it)")
        pytest.skip("chromium not installed (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


class RequestLog:
    """Every request a browser context makes, and the page errors of its pages."""

    def __init__(self, context) -> None:
        self.urls: list[str] = []
        self.page_errors: list[str] = []
        context.on("request", lambda request: self.urls.append(request.url))
        context.on("page", self.watch)

    def watch(self, page) -> None:
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                self.page_errors.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )

    def off_origin(self, origin: str) -> list[str]:
        """Requests to any other scheme, host or port than origin."""
        own = urlsplit(origin)
        return [
            url
            for url in self.urls
            if not url.startswith(("data:", "blob:"))  # in-page data, no network involved
            and (urlsplit(url).scheme, urlsplit(url).netloc) != (own.scheme, own.netloc)
        ]


def check_layout(page, name: str) -> None:
    """Save a full-page screenshot and fail if the page scrolls sideways or anything sticks out."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    layout = page.evaluate(LAYOUT_JS)
    assert layout["scrollWidth"] <= layout["width"], layout
    assert layout["scrolledX"] == 0, layout
    assert layout["outside"] == [], layout


def stored_anywhere(page, secret: str) -> list[str]:
    """Where secret shows up in localStorage, document.cookie or the context's cookies."""
    places = []
    local = page.evaluate("() => JSON.stringify(Object.entries(localStorage))")
    if secret in local:
        places.append("localStorage")
    if secret in page.evaluate("() => document.cookie"):
        places.append("document.cookie")
    if any(secret in cookie["value"] or secret in cookie["name"] for cookie in page.context.cookies()):
        places.append("context cookies")
    return places
