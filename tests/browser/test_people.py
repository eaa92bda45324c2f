"""API keys, Getting started, staff and invitations in a real browser, at desktop and phone
widths."""

from __future__ import annotations

import re
import shlex

import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    H,
    assert_accessible,
    header,
    new_page,
    shoot,
    sign_in,
)
from tests.fixtures.api import ApiClient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    "viewport, scheme",
    [((1280, 900), "light"), ((375, 740), "light"), ((375, 740), "dark")],
    ids=["desktop", "phone", "phone-dark"],
)
def test_making_copying_and_revoking_an_api_key(
    browser, api_server, alice, our_registry_row, viewport, scheme
):
    width, height = viewport
    page = new_page(
        browser,
        api_server,
        viewport={"width": width, "height": height},
        color_scheme=scheme,
        permissions=["clipboard-read", "clipboard-write"],
    )
    sign_in(page, alice)
    header(page, "Your account").click()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()

    page.get_by_label("What is it for?").fill("laptop")
    page.get_by_label("Stops working").select_option("90")
    page.get_by_role("button", name="Make key").click()

    expect(page.get_by_text("this is the only time it is shown")).to_be_visible()
    page.get_by_role("button", name="Copy the API key").click()
    key = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    expect(page.get_by_text(f"buildah login --tls-verify=false -u alice -p {key}")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(page)
    suffix = "" if width > 640 else f"-phone{'-dark' if scheme == 'dark' else ''}"
    shoot(page, f"account-new-key{suffix}")

    page.get_by_role("link", name="Revoke laptop").click()
    expect(page.get_by_role("heading", name="Revoke “laptop”?")).to_be_visible()
    page.get_by_role("button", name="Revoke this key").click()
    expect(page.get_by_text("Key “laptop” is revoked")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(page)
    shoot(page, f"account{suffix}")
    page.context.close()


@pytest.mark.registry
@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_getting_started_pushes_an_image_with_the_commands_exactly_as_shown(
    browser, api_server, alice, our_registry, our_registry_row, buildah, width
):
    app = f"first-{width}"
    page = new_page(browser, api_server, viewport={"width": width, "height": 900})
    sign_in(page, alice)
    header(page, "Getting started").click()
    page.get_by_label("What will you call it?").fill(app)
    page.get_by_role("button", name="Use this name").click()
    page.get_by_role("button", name="Make a key for this computer").click()
    expect(page.get_by_text("This is your new key, shown only now")).to_be_visible()
    expect(page.get_by_text("Waiting for")).to_be_visible()
    shown = page.locator(".copy code").all_inner_texts()
    login, tag, push = (
        next(line for line in shown if line.startswith(f"buildah {verb}"))
        for verb in ("login", "tag", "push")
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(page)
    shoot(page, "getting-started" if width > 640 else "getting-started-phone")

    # The person's own image, called what they told the page.
    buildah.run("tag", buildah.build_base(), app)
    for line in (login, tag, push):
        buildah.run(*shlex.split(line)[1:])

    arrived = page.get_by_role("link", name=f"{H}/alice/{app}")
    expect(arrived).to_be_visible(timeout=60_000)
    arrived.click()
    expect(page.get_by_role("heading", name=f"{H}/alice/{app}")).to_be_visible()
    page.context.close()


@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_staff_deactivate_someone_from_the_people_page(
    browser, api_server, make_account, alice, width
):
    root = make_account("root", staff=True)
    invited = ApiClient(root.basic()).post("/api/v1/invitation/", {"email": "eve@example.test"})
    assert invited.status_code == 201
    page = new_page(browser, api_server, viewport={"width": width, "height": 900})
    sign_in(page, root)
    header(page, "People").click()
    expect(page.get_by_role("button", name="Send again to eve@example.test")).to_be_visible()
    expect(page.get_by_role("heading", name="People")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(page)

    page.get_by_role("link", name="Deactivate alice").click()
    page.get_by_role("button", name="Deactivate alice").click()

    expect(page.get_by_text("alice is deactivated")).to_be_visible()
    expect(page.get_by_role("button", name="Reactivate alice")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(page)
    shoot(page, "people" if width > 640 else "people-phone")
    page.context.close()


@pytest.mark.registry
@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_an_invited_person_joins_pushes_as_shown_and_their_revoked_key_is_refused(
    browser,
    api_server,
    make_account,
    our_registry,
    our_registry_row,
    buildah,
    mailbox,
    settings,
    width,
):
    settings.ADMIN_PUBLIC_URL = api_server.url
    suffix = "" if width > 640 else "-phone"
    viewport = {"width": width, "height": 900}
    name, app = f"dana{width}", f"hello-{width}"

    # Staff invite, in their own browser.
    staff = new_page(browser, api_server, viewport=viewport)
    sign_in(staff, make_account("root", staff=True))
    header(staff, "People").click()
    staff.get_by_label("Their email address").fill(f"{name}@example.test")
    staff.get_by_role("button", name="Invite").click()
    expect(staff.get_by_text(f"We emailed the link to {name}@example.test.")).to_be_visible()
    assert staff.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(staff)
    shoot(staff, f"invitation{suffix}")
    staff.context.close()

    # The person, in another browser, from the email.
    link = mailbox.link(mailbox.wait_for(f"{name}@example.test")[0])
    person = new_page(
        browser, api_server, viewport=viewport, permissions=["clipboard-read", "clipboard-write"]
    )
    person.goto(link)
    expect(person.get_by_role("heading", name="Join")).to_be_visible()
    person.get_by_label("Choose a username").fill(name)
    person.get_by_label("Your name (optional)").fill("Dana")
    person.get_by_label("New password", exact=True).fill("correct horse battery staple")
    person.get_by_label("New password, again").fill("correct horse battery staple")
    assert person.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(person)
    shoot(person, f"join{suffix}")
    person.get_by_role("button", name="Join").click()
    expect(person.get_by_text(f"Welcome, {name}! Your account is ready.")).to_be_visible()
    expect(person.get_by_role("heading", name="Getting started")).to_be_visible()

    person.get_by_label("What will you call it?").fill(app)
    person.get_by_role("button", name="Use this name").click()
    person.get_by_role("button", name="Make a key for this computer").click()
    expect(person.get_by_text("This is your new key, shown only now")).to_be_visible()
    copied = []
    for step in ("login", "tag", "push"):
        person.get_by_role("button", name=f"Copy the buildah {step} command").click()
        copied.append(person.evaluate("navigator.clipboard.readText()"))
    login, tag, push = copied
    assert login.startswith(f"buildah login --tls-verify=false -u {name} -p ")
    assert push.endswith(f"{H}/{name}/{app}")

    buildah.run("tag", buildah.build_base(), app)
    try:
        for line in (login, tag, push):
            buildah.run(*shlex.split(line)[1:])
        expect(person.get_by_role("link", name=f"{H}/{name}/{app}")).to_be_visible(timeout=60_000)
        person.get_by_role("link", name="Images", exact=True).first.click()
        expect(person.get_by_role("link", name=f"{H}/{name}/{app}")).to_be_visible()

        header(person, "Your account").click()
        person.get_by_role("link", name="Revoke Getting started").click()
        person.get_by_role("button", name="Revoke this key").click()
        expect(person.get_by_text("Key “Getting started” is revoked")).to_be_visible()
        assert person.evaluate("document.documentElement.scrollWidth") <= width

        refused = buildah.run(*shlex.split(push)[1:], check=False)
        assert refused.returncode != 0
        assert "unauthorized" in refused.stderr.lower() or "401" in refused.stderr
    finally:
        buildah.run("logout", H, check=False)
    person.context.close()
