"""Builds in the web admin: build buttons, the live state badge and log, the build history,
the webhook, all through images/services/ against a real API server."""

from __future__ import annotations

import re

import pytest

from builds import pipeline
from records.models import Build, BuildSource
from tests.admin.test_admin_pages import text
from tests.admin.test_admin_teams import browser_for, csrf_checking_browser_for
from tests.domain.test_builds import register

pytestmark = pytest.mark.django_db(transaction=True)
HTMX = {"HX-Request": "true"}


def edit_form(rows: list[tuple[str, str]], **fields) -> dict:
    """The edit form's fields for the acme/hello source with (tag, branch) rows."""
    data = {
        "description": "",
        "source_owner": "acme",
        "source_repository": "hello",
        "autotests": "OFF",
        "settings-TOTAL_FORMS": str(len(rows)),
        "settings-INITIAL_FORMS": str(len(rows)),
        **fields,
    }
    for index, (tag, branch) in enumerate(rows):
        data.update(
            {
                f"settings-{index}-tag": tag,
                f"settings-{index}-branch": branch,
                f"settings-{index}-dockerfile": "/",
            }
        )
    return data


@pytest.fixture
def buildable(api, git_server, builds_env, signed_in):
    git_server.push_app("acme", "hello")
    name = register(api, "site", rows=[{"tag": "latest", "branch": "main", "autobuild": True}])
    return name


def test_the_tag_page_offers_a_build_and_says_when_nothing_was_built(signed_in, buildable):
    page = text(signed_in.get(f"/images/{buildable}/-/tags/latest/"))

    assert "Build now" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "No builds yet." in page


def test_a_plain_build_post_queues_and_redirects_to_the_tag_page(signed_in, buildable):
    response = signed_in.post(f"/images/{buildable}/-/tags/latest/build/", {"where": "page"})

    assert response.status_code == 302
    assert response.url == f"/images/{buildable}/-/tags/latest/"
    build = Build.objects.get()
    assert build.trigger == "USER"
    page = text(signed_in.get(response.url))
    assert f"Build of {buildable}:latest started." in page
    assert "No build worker is running, so this build waits." in page


def test_an_htmx_build_swaps_in_a_polling_badge_and_the_live_log(signed_in, buildable):
    response = signed_in.post(
        f"/images/{buildable}/-/tags/latest/build/", {"where": "page"}, headers=HTMX
    )

    page = text(response)
    assert response.status_code == 200
    assert 'id="state-latest"' in page
    assert f'hx-get="/images/{buildable}/-/tags/latest/state/"' in page
    assert 'hx-trigger="every 2s"' in page
    assert 'id="build-panel" class="card" hx-swap-oob="true"' in page
    assert 'id="log-poller"' in page


def test_a_second_build_is_refused_in_words_next_to_the_button(signed_in, buildable):
    url = f"/images/{buildable}/-/tags/latest/build/"
    signed_in.post(url, {"where": "row"}, headers=HTMX)

    refused = signed_in.post(url, {"where": "row"}, headers=HTMX)

    assert refused.status_code == 200
    assert "is already building" in text(refused)
    assert 'id="build-message"' in text(refused)
    assert Build.objects.count() == 1


def test_the_badge_stops_polling_and_announces_the_end_when_the_build_is_done(
    signed_in, buildable, our_registry
):
    signed_in.post(f"/images/{buildable}/-/tags/latest/build/", {"where": "row"}, headers=HTMX)
    building = signed_in.get(f"/images/{buildable}/-/tags/latest/state/", headers=HTMX)
    pipeline.run(Build.objects.get().pk)

    done = signed_in.get(f"/images/{buildable}/-/tags/latest/state/", headers=HTMX)

    assert "every 2s" in text(building) and "HX-Trigger" not in building
    assert "Success" in text(done)
    assert "hx-trigger" not in text(done)
    assert done["HX-Trigger"] == "build-finished"


def test_the_log_is_followed_from_an_offset_and_ends(signed_in, buildable, our_registry):
    signed_in.post(f"/images/{buildable}/-/tags/latest/build/", {"where": "row"}, headers=HTMX)
    build = Build.objects.get()
    pipeline.run(build.pk)
    build.refresh_from_db()
    url = f"/images/{buildable}/-/tags/latest/builds/{build.uuid}/log/"

    first = text(signed_in.get(url + "?offset=0&shown=Building", headers=HTMX))
    rest = text(signed_in.get(url + f"?offset={len(build.log)}&shown=Success", headers=HTMX))

    assert 'hx-swap-oob="beforeend:#build-log"' in first
    assert "STEP 1/10: FROM scratch" in first
    assert "log-poller" not in first  # finished: nothing more to follow
    assert 'id="build-summary" hx-swap-oob="true"' in first  # the state changed meanwhile
    assert rest.strip() == ""


def test_the_tag_page_shows_history_and_the_reason_of_a_failure(
    signed_in, api, git_server, builds_env
):
    git_server.push("acme", "broken", {"Dockerfile": "FROM scratch\nCOPY missing.txt /\n"})
    name = register(api, "broken", source_repo="broken")
    for _ in range(2):
        signed_in.post(f"/images/{name}/-/tags/latest/build/", {"where": "page"})
        pipeline.run(Build.objects.get(state="Queued").pk)

    page = text(signed_in.get(f"/images/{name}/-/tags/latest/"))

    assert "Why it failed" in page
    assert "a file it copies is not in the build context" in page
    assert "Build history" in page
    assert len(re.findall(r"<tr>\s*<td><span class=\"badge state-failed", page)) == 2


def test_the_owner_sees_the_webhook_url_and_secret_on_the_image_page(signed_in, buildable):
    from records.models import Image

    secret = Image.objects.get(name=buildable).webhook_secret
    page = text(signed_in.get(f"/images/{buildable}/-/"))
    section = text(signed_in.get(f"/images/{buildable}/-/?section=webhook"))
    everything = text(signed_in.get(f"/images/{buildable}/-/?everything=1"))

    # Below the first screen: loaded when scrolled to, not with the page.
    assert secret not in page and "?section=webhook" in page
    assert 'aria-label="Build latest"' in page
    for shown in (section, everything):
        assert f"/api/v1/hooks/github/{buildable}/" in shown
        assert secret in shown
        assert 'aria-label="Copy webhook secret"' in shown


def test_the_webhook_section_shows_nothing_to_those_who_may_not_change_the_image(
    api_server, bob, buildable
):
    from records.models import Image

    bob_browser = browser_for(bob)
    image = Image.objects.get(name=buildable)
    Image.objects.filter(pk=image.pk).update(is_private_image=False)

    page = text(bob_browser.get(f"/images/{buildable}/-/"))
    section = bob_browser.get(f"/images/{buildable}/-/?section=webhook")

    assert "?section=webhook" not in page
    assert section.status_code == 200 and image.webhook_secret not in text(section)
    assert text(section).strip() == ""


def test_build_buttons_need_the_csrf_token(api_server, alice, buildable):
    client = csrf_checking_browser_for(alice)

    response = client.post(f"/images/{buildable}/-/tags/latest/build/", {"where": "page"})

    assert response.status_code == 403
    assert not Build.objects.exists()


def test_the_form_stores_an_access_token_without_showing_it(signed_in, buildable):
    form = text(signed_in.get(f"/images/{buildable}/-/edit/"))
    assert "Repository access token" in form

    response = signed_in.post(
        f"/images/{buildable}/-/edit/",
        edit_form([("latest", "main")], source_token="ghp_from-the-form"),
    )

    assert response.status_code == 302, text(response)[:2000]
    assert BuildSource.objects.get(image__name=buildable).access_token == "ghp_from-the-form"
    assert "ghp_from-the-form" not in text(signed_in.get(f"/images/{buildable}/-/edit/"))


def test_the_form_says_which_row_has_a_missing_branch(signed_in, buildable, builds_env):
    builds_env.CHECK_BUILD_SETTINGS = True

    response = signed_in.post(
        f"/images/{buildable}/-/edit/", edit_form([("latest", "main"), ("next", "develop")])
    )

    page = text(response)
    assert response.status_code == 200
    second_row = page[page.index('name="settings-1-tag"') :]
    assert "Branch `develop` not found" in second_row
    assert "Branch `develop` not found" not in page[: page.index('name="settings-1-tag"')]


def test_a_running_build_can_be_cancelled_from_the_tag_page(signed_in, buildable):
    signed_in.post(f"/images/{buildable}/-/tags/latest/build/", {"where": "page"})
    build = Build.objects.get()
    page = text(signed_in.get(f"/images/{buildable}/-/tags/latest/"))
    assert "Cancel build" in page

    response = signed_in.post(
        f"/images/{buildable}/-/tags/latest/builds/{build.uuid}/cancel/", headers=HTMX
    )

    assert response.status_code == 200
    assert "Cancelled by alice." in text(response)
    assert "Cancel build" not in text(response)
    build.refresh_from_db()
    assert build.state == "Cancelled"
