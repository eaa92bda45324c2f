"""The browser suite's fixtures: one Chromium (Debian's, driven by Playwright) for the whole
run, and the check that no page had content refused by its Content-Security-Policy nor a
script error."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.pages import BROWSER_ERRORS, CHROMIUM

# Playwright's sync API runs an event loop in this thread; the test's own database calls
# are still plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# A busy CI machine can take longer than Playwright's 5 s default to answer.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def no_refused_content_nor_script_errors():
    BROWSER_ERRORS.clear()
    yield
    assert not BROWSER_ERRORS, BROWSER_ERRORS
