"""/docs in a real browser (Debian chromium through Playwright): layout, tabs, copy, same-origin only."""

import os
from urllib.parse import urlsplit

import pytest

from tests.conftest import PASSWORD
from tests.docs_support import SCREENSHOTS

# Elements that stick out of the viewport, or widen the page; inside a box that scrolls or clips on
# its own (a code block) only the box itself counts.
OUTSIDE = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (element) => {
    for (let node = element.parentElement; node && node !== document.body; node = node.parentElement) {
      if (getComputedStyle(node).overflowX !== 'visible') return true;
    }
    return false;
  };
  return Array.from(document.querySelectorAll('body *'))
    .filter((element) => {
      const box = element.getBoundingClientRect();
      return box.width > 0 && box.height > 0 && !clipped(element) && (box.left < -0.5 || box.right > width + 0.5);
    })
    .map((element) => element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') +
         (element.className ? '.' + String(element.className).split(' ').join('.') : ''));
}"""
PAGE_WIDTH = "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@pytest.fixture
def context_factory(browser):
    """New browser contexts (closed at the end), each with a request log."""
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        context.requests = []
        context.errors = []
        context.on("request", lambda request: context.requests.append(request.url))
        context.on("weberror", lambda error: context.errors.append(str(error.error)))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert [error for context in contexts for error in context.errors] == [], "JavaScript errors"


def assert_fits(page, name: str, element: str = "") -> None:
    """No horizontal page scroll, nothing outside the viewport; a screenshot saved for a look."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, f"{name}.png")
    if element:
        page.locator(element).screenshot(path=path)
    else:
        page.evaluate("window.scrollTo(0, 0)")  # a sticky table of contents shows where it starts
        page.screenshot(path=path, full_page=True)
    scroll_width, client_width = page.evaluate(PAGE_WIDTH)
    assert scroll_width <= client_width, (
        f"{name}: the page scrolls sideways ({scroll_width} > {client_width})"
    )
    assert page.evaluate(OUTSIDE) == [], f"{name}: elements outside the viewport"


@pytest.mark.parametrize("width", [390, pytest.param(1280, marks=pytest.mark.slow)])
def test_docs_fits_the_screen(width, context_factory, live_server):
    page = context_factory(viewport={"width": width, "height": 900}).new_page()
    page.goto(live_server + "/docs")
    for summary in page.locator("details > summary").all():
        summary.click()  # the collapsed samples must fit too
    assert_fits(page, f"docs-{width}")
    # Long code scrolls inside its own box.
    widest = page.evaluate(
        "Math.max(...Array.from(document.querySelectorAll('pre.code')).map(p => p.scrollWidth - p.clientWidth))"
    )
    if width == 390:
        assert widest > 0
    for selector in ("#send-example", "#verify-example"):
        for tab in page.locator(f"{selector} [role=tab]").all():
            tab.click()
            assert_fits(page, f"docs-{width}-{selector[1:]}-{tab.get_attribute('data-lang')}", selector)


def test_instance_page_curl_card_fits_a_phone(context_factory, live_server, make_instance):
    instance, _ = make_instance(owner_email="owner@example.com")
    page = context_factory(viewport={"width": 390, "height": 900}).new_page()
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/instances/{instance['id']}")
    page.locator("#curl-example").screenshot(path=os.path.join(SCREENSHOTS, "instance-curl-390.png"))
    assert_fits(page, "instance-390")
    assert instance["id"] in page.inner_text("#curl-example pre")
    page.click("#curl-example [data-copy]")  # the shared script runs on this page too
    page.wait_for_function("() => document.querySelector('#curl-example [data-copy]').textContent !== 'Copy'")
    page.goto(live_server + "/docs")  # signed in, the header holds more links
    assert_fits(page, "docs-390-signed-in")


def test_tabs_switch_and_every_example_follows(context_factory, live_server):
    page = context_factory().new_page()
    page.goto(live_server + "/docs")
    assert page.is_visible("#send-example-shell") and page.is_hidden("#send-example-python")
    page.click("#send-example [role=tab][data-lang=python]")
    assert page.is_visible("#send-example-python") and page.is_hidden("#send-example-shell")
    assert page.get_attribute("#send-example-python-tab", "aria-selected") == "true"
    assert page.is_visible("#verify-example-python")  # the signature snippets follow the choice
    page.focus("#send-example-python-tab")
    page.keyboard.press("ArrowRight")  # wraps around to the first tab
    assert page.is_visible("#send-example-shell")
    assert page.evaluate("document.activeElement.id") == "send-example-shell-tab"


def test_copy_button_copies_the_visible_example(context_factory, live_server):
    context = context_factory()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    page.goto(live_server + "/docs")
    page.click("#send-example [role=tab][data-lang=php]")
    page.click("#send-example [data-copy]")
    page.wait_for_function(
        "() => document.querySelector('#send-example [data-copy]').textContent === 'Copied'"
    )
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.inner_text("#send-example-php code")
    assert copied.startswith("use Illuminate\\Support\\Facades\\Http;") and "Http::withToken(" in copied


def test_copy_without_the_clipboard_api_selects_the_code(context_factory, live_server):
    context = context_factory()
    # What a page served over plain http from another host than localhost sees.
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined});"
    )
    page = context.new_page()
    page.goto(live_server + "/docs")
    page.click("#verify-example [role=tab][data-lang=python]")
    page.click("#verify-example [data-copy]")
    label = page.inner_text("#verify-example [data-copy]")
    assert label == "Copied" or label.startswith("Selected: press")
    selected = page.evaluate("window.getSelection().toString()")
    assert selected.rstrip() == page.inner_text("#verify-example-python code").rstrip()
    assert "def verify_webhook(" in selected


def test_no_request_leaves_the_servers_origin(context_factory, live_server, make_instance):
    instance, _ = make_instance(owner_email="owner@example.com")
    context = context_factory(viewport={"width": 390, "height": 900})
    page = context.new_page()
    page.goto(live_server + "/docs")
    for summary in page.locator("details > summary").all():
        summary.click()
    page.click("#send-example [role=tab][data-lang=javascript]")
    page.goto(live_server + "/login")
    page.fill("input[name=email]", "owner@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/instances/{instance['id']}")
    page.wait_for_load_state("load")
    origin = urlsplit(live_server)
    foreign = [
        url for url in context.requests if urlsplit(url)[:2] != origin[:2] and not url.startswith("data:")
    ]
    assert context.requests and foreign == []
