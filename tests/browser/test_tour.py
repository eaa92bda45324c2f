"""The admin's main pages in a real browser: the whole tour, without JavaScript, in the dark,
a build live and a multi-platform tag, a form left open after signing out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from records.models import Image
from tests.browser.pages import (
    H,
    assert_accessible,
    header,
    new_page,
    scroll_down,
    shoot,
    sign_in,
    small_targets,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
    from tests.domain.test_builds import register
    from tests.fixtures.builds import DOCKERFILE
    from tests.fixtures.registry import BUSYBOX

    # A step that takes a moment, so the page is seen Building before it succeeds.
    slow = DOCKERFILE.replace("RUN echo", 'RUN echo "compiling..." && sleep 3 && echo')
    git_server.push("acme", "live", {"busybox": BUSYBOX, "Dockerfile": slow})
    name = register(api, "live", source_repo="live")
    page = new_page(browser, api_server)
    sign_in(page, alice)
    page.goto(f"/images/{name}/-/")
    scroll_down(page)
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
    from tests.api.test_tag_details import DOCKERFILE, LONG_STEP, platform_image
    from tests.fixtures.our_registry import wait_for_tag

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
