"""Two-factor sign-in in a real browser: set it up on Your account (the test's "phone"
computes codes from the key the page shows), keep the recovery codes, sign out, sign in with
the password and then a code; at desktop and phone widths, each page light and dark."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    assert_accessible,
    fits,
    header,
    new_page,
    shoot,
    sign_in,
    small_targets,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def checked(page, width: int, name: str) -> None:
    for scheme, suffix in (("light", ""), ("dark", "-dark")):
        page.emulate_media(color_scheme=scheme)
        fits(page, width)
        assert_accessible(page)
        if width < 640:
            assert not small_targets(page), small_targets(page)
        shoot(page, name + suffix)
    page.emulate_media(color_scheme="light")


@pytest.mark.parametrize("viewport", [(1280, 900), (375, 812)], ids=["desktop", "phone"])
def test_a_person_sets_up_two_factor_and_signs_in_with_a_code(browser, api_server, alice, viewport):
    width, height = viewport
    suffix = "" if width > 640 else "-phone"
    page = new_page(browser, api_server, viewport={"width": width, "height": height})
    sign_in(page, alice)
    page.goto("/account/")
    page.get_by_role("button", name="Set up two-factor sign-in").click()

    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    secret = page.locator('input[name="secret"]').input_value()
    totp = pyotp.TOTP(secret)
    checked(page, width, f"two-factor-setup{suffix}")
    page.get_by_label("Code", exact=True).fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor sign-in").click()

    expect(page.get_by_role("heading", name="Two-factor sign-in is on")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    checked(page, width, f"two-factor-codes{suffix}")
    page.get_by_role("link", name="I have kept them: back to Your account").click()
    expect(page.get_by_text("9 recovery codes left")).to_have_count(0)
    expect(page.get_by_text("10 recovery codes left")).to_be_visible()

    header(page, "Sign out", role="button").click()
    page.goto("/login/")
    page.get_by_label("Username").fill(alice.username)
    page.get_by_label("Password").fill(alice.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your sign-in code")).to_be_visible()
    page.get_by_label("Code", exact=True).fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    checked(page, width, f"two-factor-prompt{suffix}")
    page.get_by_label("Code", exact=True).fill(codes[0])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Images", exact=True)).to_be_visible()
    page.context.close()
