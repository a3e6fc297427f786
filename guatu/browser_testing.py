"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's `live_server`.

A browser test module imports the fixtures it uses (`from guatu.browser_testing import browser, ...`)
and marks itself `browser` and `serial`: the live server needs a transactional database, which is
emptied when the test ends, so `make test` runs these alone, after the rest.

Where no Chromium is installed the tests skip with a clear message, except in CI (CI=true), where a
missing browser is a failure. Screenshots go to test-output/screenshots/<test name>.png at the
repository's root; .ci/run prints their paths.

PYTEST_DONT_REWRITE: test modules import these helpers before pytest loads this module as a plugin.
"""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GUATU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
PASSWORD = "Guatu-test-2026"  # make_user's default
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _missing(what: str, fix: str) -> None:
    if in_ci():
        pytest.fail(f"{what}：CI=true 时缺少浏览器即失败，不跳过；{fix}", pytrace=False)
    pytest.skip(f"{what}，跳过浏览器测试；{fix}")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the whole session."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing(f"未找到 Chromium（{CHROMIUM}）", "apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("未安装 Playwright for Python", "make install")
    # Playwright's sync API keeps an event loop on this thread; Django's ORM would refuse to run beside it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from django.db import connections

    # Inside sync_playwright Django's (context-local) connection handler would hand out new connection
    # objects, without the serialized data that serialized_rollback reloads: when a database test ran
    # before the browser started, the browser tests after it lost the migrations' rows. Keep the ones
    # the test database was set up on.
    kept = {alias: connections[alias] for alias in connections}
    try:
        with sync_playwright() as playwright:
            for alias, connection in kept.items():
                connections[alias] = connection
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield chromium
            finally:
                chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page_for(browser, live_server) -> Iterator[Callable]:
    """`page_for(user, viewport)`: a fresh browser context of that size, logged in as the user through
    the real login form; the page it returns is on the home page. Contexts close when the test ends."""
    contexts = []

    def login(user, viewport: dict | None = None, *, password: str = PASSWORD):
        context = browser.new_context(viewport=viewport or DESKTOP, locale="zh-CN", base_url=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        with page.expect_navigation():
            page.click("button[type=submit]")
        if "/login/" in page.url:
            raise AssertionError(f"用户“{user.username}”登录失败，仍停在登录页：{page.url}")
        return page

    yield login
    for context in contexts:
        context.close()


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)


@pytest.fixture
def screenshot(request) -> Callable:
    """`screenshot(page, label="")` saves test-output/screenshots/<test name>[-label].png (whole page)
    and returns its path."""

    def save(page, label: str = "") -> Path:
        name = _slug(request.node.name) + (f"-{_slug(label)}" if label else "")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


# How many distinct colours a chart's canvas shows (sampled); a blank canvas shows one at most.
CANVAS_COLOURS = """(selector) => {
  const canvas = document.querySelector(selector);
  if (!canvas || !canvas.width || !canvas.height) return 0;
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  for (let i = 0; i < data.length; i += 4 * 7) {
    seen.add(`${data[i]},${data[i + 1]},${data[i + 2]},${data[i + 3]}`);
    if (seen.size > 20) break;
  }
  return seen.size;
}"""


def canvas_colours(page, selector: str) -> int:
    return page.evaluate(CANVAS_COLOURS, selector)


def wait_for_drawn_canvas(page, selector: str, *, colours: int = 3, timeout: float = 15_000) -> int:
    """Wait until the canvas under `selector` shows at least `colours` colours; returns the count."""
    page.wait_for_function(f"({CANVAS_COLOURS})({selector!r}) >= {colours}", timeout=timeout)
    return canvas_colours(page, selector)


def canvas_has_colour(page, selector: str, hex_colour: str) -> bool:
    """Whether any pixel of the canvas under `selector` is exactly `hex_colour` ("#f59f00")."""
    rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    return page.evaluate(
        """([selector, rgb]) => {
          const canvas = document.querySelector(selector);
          if (!canvas || !canvas.width || !canvas.height) return false;
          const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i] === rgb[0] && data[i + 1] === rgb[1] && data[i + 2] === rgb[2] && data[i + 3] === 255) return true;
          }
          return false;
        }""",
        [selector, rgb],
    )
