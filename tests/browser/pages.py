"""What the browser tests do with a page: open one, sign in, find the header's links, take a
screenshot (to docs/screenshots/, committed and shown in the docs), check accessibility and
that a page fits a phone."""

from __future__ import annotations

import shutil
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from playwright.sync_api import expect

H = settings.REGISTRY_HOST
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# What the pages' Content-Security-Policy refused, and scripts that failed, in each test.
BROWSER_ERRORS: list[str] = []


def new_page(browser, live_server, *, javascript: bool = True, **options):
    """A page in a fresh browser context; `options` go to Playwright's new_context."""
    context = browser.new_context(
        java_script_enabled=javascript,
        base_url=live_server.url,
        **{"viewport": {"width": 1280, "height": 900}, **options},
    )
    context.set_default_timeout(20_000)
    if javascript:
        context.expose_function("reportRefused", lambda text: BROWSER_ERRORS.append(text))
        context.add_init_script(
            "document.addEventListener('securitypolicyviolation', (event) => "
            "window.reportRefused(`CSP refused ${event.blockedURI} (${event.violatedDirective})`))"
        )
    page = context.new_page()
    page.on("pageerror", lambda error: BROWSER_ERRORS.append(str(error)))
    return page


def sign_in(page, account) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Images", exact=True)).to_be_visible()


def header(page, name: str, role: str = "link"):
    """A link or button of the header, opening its Menu first on a phone."""
    menu = page.locator("header details.menu > summary")
    if menu.is_visible() and page.locator("header details.menu[open]").count() == 0:
        menu.click()
    return page.locator("header").get_by_role(role, name=name)


def scroll_down(page) -> None:
    """To the page's end, as a reader does: what loads when revealed (the image page's
    later sections) loads."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_accessible(page) -> None:
    results = Axe().run(page)
    serious = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not serious, serious


def fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


PHONE = {"width": 375, "height": 812}
# Controls a finger presses; links inside sentences are not (WCAG's inline exception).
TOUCH_TARGETS = (
    "button:visible, .button:visible, select:visible, input[type=text]:visible, "
    "input[type=search]:visible, input[type=password]:visible, input[type=email]:visible, "
    "input[type=number]:visible, "
    "summary:visible, header nav a:visible, .pager a:visible, td.name a:visible"
)


def small_targets(page) -> list[str]:
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
            .map(e => `${e.tagName} "${e.textContent.trim().slice(0, 30)}" ${Math.round(
                e.getBoundingClientRect().height)}px`)""",
        TOUCH_TARGETS.replace(":visible", ""),
    )
