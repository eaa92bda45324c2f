"""Real Chromium (Debian's, driven by Playwright) through the admin's main flows.

Screenshots of each main page go to docs/screenshots/ (committed, shown in the README).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from playwright.sync_api import expect, sync_playwright

from records.models import BinEntry, Image
from tests.fixtures_api import ApiClient

H = settings.REGISTRY_HOST
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Playwright's sync API runs an event loop in this thread; the test's own database calls
# are still plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# A busy CI machine can take longer than Playwright's 5 s default to answer.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
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


# What the pages' Content-Security-Policy refused, and scripts that failed, in each test.
BROWSER_ERRORS: list[str] = []


@pytest.fixture(autouse=True)
def no_refused_content_nor_script_errors():
    BROWSER_ERRORS.clear()
    yield
    assert not BROWSER_ERRORS, BROWSER_ERRORS


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


def test_the_whole_admin_in_a_browser(browser, api_server, alice, make_image, push_image):
    pushed = push_image(
        alice,
        "hello",
        "v1",
        env={"GREETING": "hello"},
        labels={"org.example.team": "web"},
        ports=("8080/tcp",),
        volumes=("/data",),
        cmd="echo hello",
        author="Alice <alice@example.com>",
    )
    for i in range(30):
        make_image(alice, f"service-{i:02d}", tags=["latest"], description=f"Service number {i}")
    page = new_page(browser, api_server)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("That username and password do not match.")).to_be_visible()
    shoot(page, "login")
    assert_accessible(page)
    sign_in(page, alice)

    expect(page.get_by_text("Showing 1–25 of 31 images")).to_be_visible()
    shoot(page, "image-list")
    assert_accessible(page)
    page.get_by_role("link", name="Next →").click()
    expect(page.get_by_text("Showing 26–31 of 31 images")).to_be_visible()
    # The page after the last name shown: found in the name index, wherever it is.
    expect(page).to_have_url(re.compile(r"after=.*service-"))
    page.get_by_role("link", name="← Previous").click()
    expect(page.get_by_text("Showing 1–25 of 31 images")).to_be_visible()
    page.get_by_label("Search by name").fill("service-1")
    expect(page.get_by_text("Showing 1–10 of 10 images")).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=service-1"))
    page.reload()
    expect(page.get_by_text("Showing 1–10 of 10 images")).to_be_visible()

    page.goto("/images/new/")
    page.get_by_label("Name", exact=True).fill(f"{H}/alice/shop")
    page.get_by_label("Description").fill("The shop front end")
    page.get_by_label("Repository owner").fill("acme")
    page.get_by_label("Repository name").fill("shop")
    for row in (1, 2, 3):
        page.get_by_role("button", name="+ Add a build setting").click()
        expect(page.get_by_label(f"Row {row} Tag")).to_be_visible()
    page.get_by_role("button", name="Remove row 3").click()
    expect(page.get_by_label("Row 3 Tag")).to_have_count(0)
    page.get_by_label("Row 1 Tag").fill("latest")
    page.get_by_label("Row 1 Branch").fill("main")
    page.get_by_label("Row 2 Tag").fill("staging")
    page.get_by_label("Row 2 Branch").fill("bad..branch")
    page.get_by_role("button", name="Register image").click()
    expect(page.get_by_text("'bad..branch' is not a valid git branch name.")).to_be_visible()
    shoot(page, "register-form")
    assert_accessible(page)
    page.get_by_label("Row 2 Branch").fill("staging")
    page.get_by_role("button", name="Register image").click()
    expect(page.get_by_role("heading", name=f"{H}/alice/shop")).to_be_visible()
    assert Image.objects.get(name=f"{H}/alice/shop").build_source.build_settings.count() == 2

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Description").fill("The new shop")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("The new shop")).to_be_visible()

    page.goto(f"/images/{pushed.name}/-/")
    expect(page.get_by_text(f"docker pull {pushed.name}")).to_be_visible()
    shoot(page, "image-detail")
    assert_accessible(page)
    page.get_by_role("link", name="v1").click()
    expect(page.get_by_text("Alice <alice@example.com>")).to_be_visible()
    expect(
        page.get_by_text(f"docker run -d -p 8080:8080 -v hello-data:/data {pushed.name}:v1")
    ).to_be_visible()
    shoot(page, "tag-detail")
    assert_accessible(page)

    page.goto(f"/images/{H}/alice/shop/-/delete/")
    page.get_by_label("Type").fill("shop")
    page.get_by_role("button", name="Delete this image").click()
    expect(page.get_by_text("That is not the image's name; nothing was deleted.")).to_be_visible()
    shoot(page, "delete-confirm")
    assert_accessible(page)
    page.get_by_label("Type").fill(f"{H}/alice/shop")
    page.get_by_role("button", name="Delete this image").click()
    expect(page.get_by_text(f"{H}/alice/shop was deleted.")).to_be_visible()

    header(page, "Sign out", "button").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def test_sign_in_filter_and_edit_without_javascript(browser, api_server, alice, make_image):
    make_image(alice, "web", private=False, description="Public web")
    make_image(alice, "worker", description="Private worker")
    page = new_page(browser, api_server, javascript=False)

    sign_in(page, alice)
    page.get_by_label("Visibility").select_option("public")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Showing 1–1 of 1 image")).to_be_visible()
    expect(page).to_have_url(re.compile(r"visibility=public"))

    page.goto(f"/images/{H}/alice/worker/-/edit/")
    page.get_by_role("button", name="+ Add a build setting").click()
    page.get_by_label("Repository owner").fill("acme")
    page.get_by_label("Repository name").fill("worker")
    page.get_by_label("Row 1 Tag").fill("latest")
    page.get_by_label("Row 1 Branch").fill("main")
    page.get_by_label("Description").fill("Edited without JS")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Edited without JS")).to_be_visible()
    assert (
        Image.objects.get(name=f"{H}/alice/worker").build_source.build_settings.get().branch
        == "main"
    )


def test_an_images_tags_page_on_and_back_in_place(browser, api_server, alice, make_image):
    image = make_image(alice, "many", tags=[f"v{i:02d}" for i in range(30)])
    page = new_page(browser, api_server)
    sign_in(page, alice)

    page.goto(f"/images/{image.name}/-/")
    pager = page.get_by_role("navigation", name="Tag pages")
    expect(pager.get_by_text("1–25 of 30")).to_be_visible()
    pager.get_by_role("link", name="Next →").click()
    expect(pager.get_by_text("26–30 of 30")).to_be_visible()
    expect(page.get_by_role("link", name="v29", exact=True)).to_be_visible()
    pager.get_by_role("link", name="← Previous").click()
    expect(pager.get_by_text("1–25 of 30")).to_be_visible()
    expect(page.get_by_role("link", name="v00", exact=True)).to_be_visible()


def test_the_dark_theme_is_readable(browser, api_server, alice, make_image):
    make_image(alice, "web", description="Dark and readable")
    page = new_page(
        browser, api_server, color_scheme="dark", viewport={"width": 1280, "height": 700}
    )

    sign_in(page, alice)
    expect(page.get_by_text("Dark and readable")).to_be_visible()

    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 20, 24)"
    shoot(page, "image-list-dark")
    assert_accessible(page)


def test_a_build_runs_live_on_the_tag_page(
    browser, api_server, alice, api, git_server, our_registry, build_worker
):
    from tests.fixtures_builds import DOCKERFILE
    from tests.fixtures_registry import BUSYBOX
    from tests.test_builds import register

    # A step that takes a moment, so the page is seen Building before it succeeds.
    slow = DOCKERFILE.replace("RUN echo", 'RUN echo "compiling..." && sleep 3 && echo')
    git_server.push("acme", "live", {"busybox": BUSYBOX, "Dockerfile": slow})
    name = register(api, "live", source_repo="live")
    page = new_page(browser, api_server)
    sign_in(page, alice)
    page.goto(f"/images/{name}/-/")
    expect(page.get_by_role("button", name="Copy webhook secret")).to_be_visible()
    assert_accessible(page)
    shoot(page, "image-builds")
    page.goto(f"/images/{name}/-/tags/latest/")
    page.evaluate("window.notReloaded = true")

    page.get_by_role("button", name="Build latest").click()

    badge = page.locator("#state-latest")
    expect(badge).to_contain_text("Building")
    log = page.locator("#build-log")
    expect(log).to_contain_text("compiling...", timeout=60_000)
    shoot(page, "build-running")
    expect(badge).to_contain_text("Success", timeout=90_000)
    expect(page.locator("#build-panel")).to_contain_text("Build succeeded")
    expect(page.locator("#build-panel h3").first).to_contain_text("Success")
    expect(page.locator("#layer")).to_contain_text("GREETING")
    assert page.evaluate("window.notReloaded") is True
    assert_accessible(page)
    shoot(page, "build-live")
    page.context.close()


@pytest.mark.registry
@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_a_multi_platform_tag_page_shows_its_platforms_and_build_steps(
    browser, api_server, alice, buildah, our_registry, tmp_path, width
):
    from tests.fixtures_our_registry import wait_for_tag
    from tests.test_tag_details import DOCKERFILE, LONG_STEP, platform_image

    (tmp_path / "Dockerfile").write_text(DOCKERFILE.format(base=buildah.build_base()))
    amd64 = "localhost/browser:amd64"
    buildah.run("bud", "--pull-never", "--isolation", "chroot", "-t", amd64, str(tmp_path))
    arm64 = platform_image(buildah, "localhost/browser:arm64", "arm64", "v8")
    name = f"{H}/alice/multi"
    digest = buildah.push_index([amd64, arm64], f"{name}:1", f"alice:{alice.key}")
    wait_for_tag(name, "1", digest)
    page = new_page(
        browser,
        api_server,
        viewport={"width": width, "height": 900},
        permissions=["clipboard-read", "clipboard-write"],
    )
    sign_in(page, alice)

    page.goto(f"/images/{name}/-/tags/1/")

    expect(page.get_by_text("Pushed by alice")).to_be_visible()
    expect(page.get_by_text(f"docker pull {name}@{digest}")).to_be_visible()
    page.get_by_role("button", name="Copy docker pull command").click()
    assert page.evaluate("navigator.clipboard.readText()") == f"docker pull {name}@{digest}"
    platforms = page.get_by_role("table", name="Platforms of this tag")
    expect(platforms).to_contain_text("linux/amd64")
    expect(platforms).to_contain_text("linux/arm64/v8")
    steps = page.get_by_role("table", name="Build steps")
    expect(steps).to_contain_text("ENV STAGE=test")
    expect(steps).to_contain_text("no layer")
    expect(steps.get_by_text(LONG_STEP)).to_be_hidden()
    steps.get_by_text("Full command").click()
    expect(steps.get_by_text(LONG_STEP)).to_be_visible()
    expect(page.get_by_role("table", name="Layers as the manifest lists them")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_accessible(page)
    if width < 640:
        assert not small_targets(page), small_targets(page)
    shoot(page, "tag-platforms" if width > 640 else "tag-platforms-phone")
    page.context.close()


def test_a_form_left_open_after_signing_out_elsewhere(browser, api_server, alice):
    page = new_page(browser, api_server)
    sign_in(page, alice)
    page.goto("/images/new/")
    other_tab = page.context.new_page()
    other_tab.goto("/")
    header(other_tab, "Sign out", "button").click()
    expect(other_tab.get_by_text("You are signed out.")).to_be_visible()

    page.get_by_role("button", name="+ Add a build setting").click()

    expect(page).to_have_url(re.compile(r"/login/\?next=%2Fimages%2Fnew%2F$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_out_of_date_page_is_accessible(browser, api_server, alice):
    page = new_page(browser, api_server)
    sign_in(page, alice)
    other_tab = page.context.new_page()
    other_tab.goto("/")
    header(other_tab, "Sign out", "button").click()

    header(page, "Sign out", "button").click()  # a plain form, not htmx

    expect(page.get_by_role("heading", name="This page was out of date")).to_be_visible()
    assert_accessible(page)


def test_a_form_left_open_after_signing_out_elsewhere_without_javascript(
    browser, api_server, alice
):
    page = new_page(browser, api_server, javascript=False)
    sign_in(page, alice)
    page.goto("/images/new/")
    other_tab = page.context.new_page()
    other_tab.goto("/")
    header(other_tab, "Sign out", "button").click()

    page.get_by_label("Name", exact=True).fill(f"{H}/alice/late")
    page.get_by_label("Description").fill("Typed before noticing")
    page.get_by_role("button", name="Register image").click()

    expect(page.get_by_role("heading", name="This page was out of date")).to_be_visible()
    shoot(page, "form-out-of-date")
    page.get_by_role("link", name="Sign in again").click()
    sign_in_form = page.get_by_role("heading", name="Sign in")
    expect(sign_in_form).to_be_visible()
    assert "next=" in page.url


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


def fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.registry
@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_a_team_is_made_joined_by_link_and_run_by_its_owner(
    browser,
    api_server,
    make_account,
    git_server,
    our_registry,
    our_registry_row,
    request,
    settings,
    width,
):
    # The join link starts with the admin's public address: here, the test's server.
    settings.ADMIN_PUBLIC_URL = api_server.url
    suffix = "" if width > 640 else "-phone"
    viewport = {"width": width, "height": 900}
    team, app = f"web{width}", "site"
    owner, writer, reader = (make_account(f"{n}{width}") for n in ("olga", "wes", "rita"))
    git_server.push_app("acme", app)

    # The owner makes the team and invites a Writer by link and a Reader by username.
    olga = new_page(browser, api_server, viewport=viewport)
    sign_in(olga, owner)
    header(olga, "Teams").click()
    olga.get_by_label("Team name").fill(team)
    olga.get_by_label("What the team is for (optional)").fill("The website and its services")
    olga.get_by_role("button", name="Make the team").click()
    expect(olga.get_by_text(f"Team {team} is made and you are its Owner.")).to_be_visible()
    olga.get_by_label("Their username (leave empty for a link)").fill(reader.username)
    olga.get_by_role("radio", name=re.compile(r"^\s*Reader:")).check()
    olga.get_by_role("button", name="Invite").click()
    expect(olga.get_by_text(f"{reader.username} is invited as Reader")).to_be_visible()
    olga.get_by_role("radio", name=re.compile(r"^\s*Writer:")).check()
    olga.get_by_role("button", name="Invite").click()
    expect(olga.get_by_role("heading", name=f"A link to join {team} as Writer")).to_be_visible()
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"team-link{suffix}")
    link = olga.get_by_role("button", name="Copy the invitation link").get_attribute("data-copy")

    # The Writer, in another browser, accepts the link and registers an image in the team.
    wes = new_page(browser, api_server, viewport=viewport)
    sign_in(wes, writer)
    wes.goto(link)
    expect(wes.get_by_role("heading", name=f"Join team {team}?")).to_be_visible()
    fits(wes, width)
    assert_accessible(wes)
    shoot(wes, f"team-join{suffix}")
    wes.get_by_role("button", name=f"Join {team}").click()
    expect(wes.get_by_text(f"You joined team {team} as Writer.")).to_be_visible()
    wes.goto("/images/new/")
    name = f"{H}/{team}/{app}"
    wes.get_by_label("Name", exact=True).fill(name)
    wes.get_by_label("Repository owner").fill("acme")
    wes.get_by_label("Repository name").fill(app)
    wes.get_by_role("button", name="+ Add a build setting").click()
    wes.get_by_label("Row 1 Tag").fill("latest")
    wes.get_by_label("Row 1 Branch").fill("main")
    wes.get_by_role("button", name="Register image").click()
    expect(wes.get_by_role("heading", name=name)).to_be_visible()
    expect(wes.get_by_role("link", name="Edit")).to_be_visible()
    # An Owner's to do (exact: "Recently deleted" is a link of everyone's).
    expect(wes.get_by_role("link", name="Delete", exact=True)).to_have_count(0)
    if width > 640:
        # One real build (the phone run checks the same pages without building again).
        request.getfixturevalue("build_worker")
        wes.goto(f"/images/{name}/-/tags/latest/")
        wes.get_by_role("button", name="Build latest").click()
        expect(wes.locator("#state-latest")).to_contain_text("Success", timeout=120_000)
    wes.context.close()

    # The Reader accepts from their Teams page and sees no buttons they cannot use.
    rita = new_page(browser, api_server, viewport=viewport)
    sign_in(rita, reader)
    header(rita, "Teams").click()
    rita.get_by_role("button", name=f"Join {team}").click()
    expect(rita.get_by_text(f"You joined team {team}.")).to_be_visible()
    rita.goto(f"/images/{name}/-/")
    expect(rita.get_by_role("heading", name=name)).to_be_visible()
    for button in ("Edit", "Delete"):
        expect(rita.get_by_role("link", name=button, exact=True)).to_have_count(0)
    expect(rita.get_by_role("button", name=re.compile("^Build"))).to_have_count(0)
    refused = rita.request.post(f"/teams/{team}/invite/", data={"role": "Owner"})
    assert refused.status in (400, 403)  # no CSRF token, and no right to
    rita.context.close()

    # The owner demotes the Writer (after reading what they lose) and removes the Reader.
    olga.goto(f"/teams/{team}/")
    olga.get_by_label(f"Role of {writer.username}").select_option("Reader")
    olga.get_by_role("button", name=f"Change the role of {writer.username}").click()
    expect(olga.get_by_role("heading", name=f"Make {writer.username} a Reader?")).to_be_visible()
    expect(olga.get_by_text("add, edit and build the team's images")).to_be_visible()
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"team-demote{suffix}")
    olga.get_by_role("button", name=f"Make {writer.username} a Reader").click()
    expect(
        olga.get_by_text(f"{writer.username} is now only a Reader in team {team}.")
    ).to_be_visible()
    olga.get_by_role("link", name=f"Remove {reader.username}").click()
    olga.get_by_role("button", name=f"Remove {reader.username}").click()
    expect(olga.get_by_text(f"{reader.username} is no longer in team {team}.")).to_be_visible()
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"team{suffix}")
    # A token for a deploy server, shown once.
    olga.get_by_text("Make a token").click()
    olga.get_by_label("Token name").fill("deploy")
    olga.get_by_role("checkbox", name=name).check()
    olga.get_by_role("button", name="Make the token").click()
    expect(olga.get_by_role("heading", name=f"Token {team}+deploy is made")).to_be_visible()
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"team-token{suffix}")

    # Who reaches the image, and why; and the team's activity says all of it.
    olga.goto(f"/images/{name}/-/")
    access = olga.get_by_role("region", name="Who can reach it")
    expect(access).to_contain_text(f"Reader, member of team {team}")
    expect(access).to_contain_text("Team access token: pull, scoped to this image")
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"image-access{suffix}")
    olga.goto(f"/activity/?team={team}")
    events = olga.get_by_role("region", name="Events")
    for what in ("Made the team", "Joined the team", "Registered an image", "Changed a role"):
        expect(events).to_contain_text(what)
    expect(events).to_contain_text("Removed a member")
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"activity{suffix}")
    header(olga, "Teams").click()
    fits(olga, width)
    assert_accessible(olga)
    shoot(olga, f"teams{suffix}")
    olga.context.close()
    assert Image.objects.get(name=name).team.name == team


@pytest.mark.registry
@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_tags_are_deleted_found_in_recently_deleted_restored_and_a_policy_is_previewed_and_saved(
    browser, api_server, alice, buildah, push_image, width
):
    suffix = "" if width > 640 else "-phone"
    for tag in ("latest", "nightly-1", "nightly-2", "nightly-3"):
        ref = buildah.make_image(f"localhost/flow-{tag}:1", files={f"/{tag}": os.urandom(64)})
        pushed = push_image(alice, f"app{width}", tag=tag, ref=ref)
    name = pushed.name
    page = new_page(browser, api_server, viewport={"width": width, "height": 900})
    sign_in(page, alice)

    # Two tags ticked, confirmed by name, deleted.
    page.goto(f"/images/{name}/-/")
    page.get_by_label("Choose nightly-1").check()
    page.get_by_label("Choose nightly-2").check()
    page.get_by_role("button", name="Delete chosen tags…").click()
    expect(page.get_by_role("heading", name="Delete these 2 tags?")).to_be_visible()
    expect(page.get_by_text(f"{name}:nightly-1")).to_be_visible()
    fits(page, width)
    assert_accessible(page)
    shoot(page, f"tags-delete{suffix}")
    page.get_by_role("button", name="Delete 2 tags").click()
    expect(page.get_by_text("Deleted nightly-1, nightly-2.")).to_be_visible()

    # Both wait in Recently deleted; one comes back.
    page.get_by_role("link", name="Recently deleted tags").click()
    bin_rows = page.get_by_role("table", name="Recently deleted")
    expect(bin_rows).to_contain_text("nightly-1")
    expect(bin_rows).to_contain_text("nightly-2")
    fits(page, width)
    assert_accessible(page)
    if width < 640:
        assert not small_targets(page), small_targets(page)
    shoot(page, f"recently-deleted{suffix}")
    page.get_by_role("button", name=f"Restore {name}:nightly-1").click()
    expect(page.get_by_text(f"{name}:nightly-1 is back, with the same digest.")).to_be_visible()

    # A policy, read before it is saved.
    page.goto(f"/images/{name}/-/")
    page.get_by_role("link", name="Cleanup policy").click()
    page.get_by_label("Keep the most recent").fill("1")
    page.get_by_label("Always keep tags named").fill("latest")
    page.get_by_role("button", name="Preview what would go").click()
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", level=2)).to_contain_text("This tag,")
    expect(preview).to_contain_text("nightly-1")
    fits(page, width)
    assert_accessible(page)
    if width < 640:
        assert not small_targets(page), small_targets(page)
    shoot(page, f"cleanup-preview{suffix}")
    page.get_by_role("button", name="Save this policy").click()
    expect(page.get_by_text("Saved. It runs once a day.")).to_be_visible()
    expect(page.get_by_label("Keep the most recent")).to_have_value("1")
    page.context.close()


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


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_main_page_fits_a_phone(
    browser, api_server, make_account, make_image, make_team, scheme
):
    root = make_account("root", staff=True)
    team = make_team("web", root="Owner")
    for i in range(3):
        make_image(root, f"service-{i}", tags=["latest", "v1.2.3"], description=f"Service {i} " * 8)
    site = make_image(team, "site", description="The team's website")
    BinEntry.objects.create(
        kind=BinEntry.Kind.TAG,
        image=site,
        image_name=site.name,
        namespace="web",
        team=team,
        tag_name="v0.9",
        digest="sha256:" + "ab" * 32,
        size=48_000_000,
        deleted_by="root",
    )
    suffix = "" if scheme == "light" else "-dark"
    page = new_page(browser, api_server, viewport=PHONE, color_scheme=scheme)

    checked = [
        ("login", "/login/"),
        ("list", "/"),
        ("image", f"/images/{site.name}/-/"),
        ("tag", f"/images/{site.name}/-/tags/latest/"),
        ("register", "/images/new/"),
        ("account", "/account/"),
        ("start", "/getting-started/"),
        ("teams-list", "/teams/"),
        ("team-page", "/teams/web/"),
        ("activity-list", "/activity/"),
        ("people-list", "/people/"),
        ("deleted", "/deleted/"),
        ("cleanup", f"/images/{site.name}/-/cleanup/"),
    ]
    for label, path in checked:
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], label
        assert_accessible(page)
        assert not small_targets(page), (label, small_targets(page))
        shoot(page, f"phone-{label}{suffix}")
        if label == "login":
            sign_in(page, root)

    # Folded: the header's links behind Menu, the list's filters behind Filters.
    page.goto("/")
    expect(page.locator("header").get_by_role("link", name="Teams")).to_be_hidden()
    expect(page.get_by_label("State")).to_be_hidden()
    page.get_by_text("Filters").click()
    page.get_by_label("State").select_option("Success")
    expect(page).to_have_url(re.compile(r"state=Success"))
    header(page, "Teams")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert_accessible(page)
    shoot(page, f"phone-menu-and-filters{suffix}")
    page.context.close()


def test_the_api_reference_renders_every_operation_from_this_server_alone(browser, live_server):
    schema = ApiClient().get("/api/schema/?format=json").json()
    operations = sum(
        method in ("get", "post", "put", "patch", "delete")
        for path in schema["paths"].values()
        for method in path
    )
    page = new_page(browser, live_server)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto("/api/docs/")

    expect(page.get_by_text("List images", exact=True)).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(operations)
    # Every request went to this server (the images Swagger UI's stylesheet carries inline,
    # as data: URLs, are no requests to anyone).
    elsewhere = [
        url
        for url in requested
        if not url.startswith(f"{live_server.url}/") and not url.startswith("data:")
    ]
    assert requested and not elsewhere, elsewhere
    assert f"{live_server.url}/api/schema/" in requested
    page.context.close()
