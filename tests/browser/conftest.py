"""Browser tests: real pages in headless chromium, driven by Playwright for Python.

The browser is Debian's `chromium` (`apt-get install -y chromium`), or the executable named by
`CHROMIUM_PATH`; Playwright never downloads one. The pages are served by pytest-django's
`live_server` against the test database.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


def chromium_executable() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "Browser tests need Debian's chromium: `apt-get install -y chromium` "
            "(or set CHROMIUM_PATH to a chromium executable).",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; the ORM calls tests and
    # fixtures make between page actions are still synchronous and safe. Set only while the
    # browser runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable(),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield browser
        finally:
            browser.close()
            if previous is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def staff_sign_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Sign in to the back office through its login form, as a person does."""
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")
