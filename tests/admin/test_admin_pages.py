"""The web admin's pages, through images/services/, against a real API server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils.http import urlencode

from records.models import BuildSetting, Image, Tag
from tests.fixtures.ports import free_port

H = settings.REGISTRY_HOST
pytestmark = pytest.mark.django_db(transaction=True)


def text(response) -> str:
    return response.content.decode()


def test_pages_need_a_sign_in(api_server):
    response = Client().get("/")

    assert response.status_code == 302
    assert response.url == "/login/?next=%2F"


def test_a_wrong_password_says_so(api_server, alice):
    response = Client().post("/login/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert "That username and password do not match." in text(response)


def test_repeated_wrong_passwords_pause_sign_in_with_a_clear_message(api_server, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for i in range(3):
        client.post("/login/", {"username": "alice", "password": f"wrong-{i}"})

    # The API answers 429 with Retry-After: 900; the page must not wait for it.
    response = client.post("/login/", {"username": "alice", "password": alice.password})

    assert response.status_code == 200
    assert "Too many failed sign-ins for &#x27;alice&#x27;. Try again in 15 minutes" in text(
        response
    )
    assert "tutum_api" not in client.session


def test_wrong_passwords_through_the_admin_pause_only_that_browser(api_server, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    guesser, owner = Client(REMOTE_ADDR="10.0.0.66"), Client(REMOTE_ADDR="10.0.0.7")
    for i in range(3):
        guesser.post("/login/", {"username": "alice", "password": f"wrong-{i}"})

    paused = guesser.post("/login/", {"username": "alice", "password": alice.password})
    signed_in = owner.post("/login/", {"username": "alice", "password": alice.password})

    assert "Too many failed sign-ins" in text(paused)
    assert signed_in.status_code == 302


def test_signing_in_keeps_the_api_key_out_of_cookies_and_pages(signed_in, alice):
    response = signed_in.get("/")

    assert response.status_code == 200
    assert alice.key not in text(response)
    assert all(alice.key not in cookie.value for cookie in signed_in.cookies.values())
    assert "Signed in as" in text(response)


def test_signing_out_forgets_the_key(signed_in):
    signed_in.post("/logout/")

    assert signed_in.get("/").status_code == 302


def test_a_revoked_key_sends_you_back_to_sign_in(signed_in, alice):
    alice.user.api_keys.all().delete()

    response = signed_in.get("/")

    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_the_list_shows_images_with_state_tags_and_description(signed_in, alice, make_image):
    make_image(alice, "web", tags=["latest", "v1"], description="The web front end")

    page = text(signed_in.get("/"))

    assert f"{H}/alice/web" in page
    assert "The web front end" in page
    assert "✔</span> Success" in page
    assert '<td class="tags" data-label="Tags">2</td>' in page


def test_the_list_filters_and_searches_through_the_query_string(signed_in, alice, make_image):
    make_image(alice, "web", private=False)
    make_image(alice, "worker")

    searched = text(signed_in.get("/?q=work"))
    public = text(signed_in.get("/?visibility=public"))

    assert "alice/worker" in searched and "alice/web<" not in searched
    assert "alice/web" in public and "alice/worker" not in public


def test_htmx_requests_get_only_the_rows(signed_in, alice, make_image):
    make_image(alice, "web")

    response = signed_in.get("/?q=web", headers={"HX-Request": "true", "HX-Target": "results"})

    assert "alice/web" in text(response)
    assert "<html" not in text(response)


def test_the_list_pages_on_from_the_last_name_shown(signed_in, alice, make_image):
    for i in range(27):
        make_image(alice, f"app{i:02d}", tags=[])
    after = urlencode({"after": f"{H}/alice/app24"})

    first = text(signed_in.get("/"))
    second = text(signed_in.get(f"/?{after}"))
    back = text(signed_in.get("/?" + urlencode({"before": f"{H}/alice/app25"})))

    assert "Showing 1–25 of 27 images" in first
    assert f'href="?{after}"' in first and "offset=" not in first
    assert "Showing 26–27 of 27 images" in second  # the last page knows where it is
    assert "alice/app25" in second and "alice/app00" not in second
    assert 'href="?' + urlencode({"before": f"{H}/alice/app25"}) + '"' in second
    assert "alice/app00" in back and "alice/app24" in back and "alice/app25" not in back


def test_the_list_sorted_by_build_date_pages_on_from_the_last_image_shown(
    signed_in, alice, make_image
):
    for i in range(27):
        image = make_image(alice, f"app{i:02d}", tags=[])
        # Built a day apart, the oldest first; app26 was never built.
        built = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=i) if i < 26 else None
        Image.objects.filter(pk=image.pk).update(last_build_date=built)
    newest_first = "/?sort=-last_build_date"
    last_shown = f"{H}/alice/app01"

    first = text(signed_in.get(newest_first))
    second = text(signed_in.get(f"{newest_first}&" + urlencode({"after": last_shown})))
    gone = text(signed_in.get(f"{newest_first}&" + urlencode({"after": f"{H}/alice/deleted"})))

    # Newest first and never built last on SQLite (PostgreSQL lists never-built first).
    assert first.index("alice/app25") < first.index("alice/app01")
    assert 'href="?sort=-last_build_date&amp;' + urlencode({"after": last_shown}) + '"' in first
    assert "offset=" not in first
    assert "Showing 26–27 of 27 images" in second
    assert "alice/app00" in second and "alice/app26" in second and "alice/app01" not in second
    assert "The image that page started from is no longer in the list" in gone
    assert "Showing 1–25 of 27 images" in gone


def test_an_images_tags_page_on_from_the_last_tag_shown(signed_in, alice, make_image):
    image = make_image(alice, "many", tags=[f"v{i:02d}" for i in range(27)])
    page = f"/images/{image.name}/-/"
    after = urlencode({"tafter": "v24"})

    first = text(signed_in.get(page))
    second = text(signed_in.get(f"{page}?{after}"))
    back = text(signed_in.get(f"{page}?" + urlencode({"tbefore": "v25"})))
    searched = text(signed_in.get(f"{page}?" + urlencode({"tq": "v2", "tafter": "v21"})))

    assert "1–25 of 27" in first
    assert f'href="?{after}"' in first and "toffset" not in first
    assert "26–27 of 27" in second  # the last page knows where it is
    assert ">v25<" in second and ">v00<" not in second
    assert 'href="?' + urlencode({"tbefore": "v25"}) + '"' in second
    assert ">v00<" in back and ">v24<" in back and ">v25<" not in back
    assert ">v22<" in searched and ">v21<" not in searched and ">v03<" not in searched


def test_an_empty_list_invites_to_register(signed_in):
    page = text(signed_in.get("/"))

    assert "No images yet" in page
    assert "Register an image" in page


def test_the_detail_page_shows_pull_command_tags_and_settings(signed_in, alice, make_image):
    image = make_image(alice, "web", tags=["latest", "v1"])
    BuildSetting.objects.create(
        build_source=__import__("records.models").models.BuildSource.objects.create(
            image=image, owner="acme", repository="web"
        ),
        tag="latest",
        branch="main",
    )

    page = text(signed_in.get(f"/images/{image.name}/-/"))

    assert f"docker pull {image.name}" in page
    assert f"/images/{image.name}/-/tags/v1/" in page
    assert "acme/web" in page and "main" in page


def test_the_tag_search_is_a_partial_for_htmx(signed_in, alice, make_image):
    image = make_image(alice, "web", tags=["latest", "v1", "v2"])

    response = signed_in.get(
        f"/images/{image.name}/-/?tq=v", headers={"HX-Request": "true", "HX-Target": "tag-rows"}
    )

    assert "<html" not in text(response)
    assert "tags/v1/" in text(response) and "tags/latest/" not in text(response)


def test_the_tag_page_shows_the_layer_and_a_run_command(signed_in, alice, make_image):
    image = make_image(alice, "web")

    page = text(signed_in.get(f"/images/{image.name}/-/tags/latest/"))

    assert "Fernando Mayo" in page
    assert "Pure awesomeness" in page
    assert "/usr/bin:/bin" in page
    assert f"docker run -d -p 80:80 -v web-data:/app {image.name}:latest" in page
    assert "8 Nov 2013" in page


def test_registering_an_image_with_two_build_settings(signed_in):
    response = signed_in.post(
        "/images/new/",
        {
            "name": f"{H}/alice/new-app",
            "description": "Fresh",
            "source_owner": "acme",
            "source_repository": "new-app",
            "autotests": "OFF",
            "settings-TOTAL_FORMS": "2",
            "settings-INITIAL_FORMS": "0",
            "settings-0-tag": "latest",
            "settings-0-branch": "main",
            "settings-0-dockerfile": "/",
            "settings-1-tag": "staging",
            "settings-1-branch": "staging",
            "settings-1-dockerfile": "/docker",
            "settings-1-autobuild": "on",
        },
    )

    assert response.status_code == 302
    assert response.url == f"/images/{H}/alice/new-app/-/"
    detail = text(signed_in.get(response.url))
    assert "Not built yet" in detail
    assert "new-app was registered." in detail
    assert Image.objects.get(name=f"{H}/alice/new-app").description == "Fresh"
    assert BuildSetting.objects.filter(autobuild=True).get().branch == "staging"


def test_rows_are_added_and_removed_without_javascript(signed_in):
    base = {
        "name": f"{H}/alice/rows",
        "autotests": "OFF",
        "settings-TOTAL_FORMS": "2",
        "settings-INITIAL_FORMS": "0",
        "settings-0-tag": "first",
        "settings-0-branch": "a",
        "settings-1-tag": "second",
        "settings-1-branch": "b",
    }

    added = text(signed_in.post("/images/new/", {**base, "add_row": "1"}))
    removed = text(signed_in.post("/images/new/", {**base, "remove_row": "0"}))

    assert 'name="settings-TOTAL_FORMS" value="3"' in added
    assert 'value="first"' in added and 'value="second"' in added
    assert 'name="settings-TOTAL_FORMS" value="1"' in removed
    assert 'value="first"' not in removed and 'value="second"' in removed
    assert not Image.objects.exists()


def test_an_api_error_lands_on_the_right_row_field(signed_in):
    response = signed_in.post(
        "/images/new/",
        {
            "name": f"{H}/alice/app",
            "source_owner": "acme",
            "source_repository": "app",
            "autotests": "OFF",
            "settings-TOTAL_FORMS": "2",
            "settings-INITIAL_FORMS": "0",
            "settings-0-tag": "ok",
            "settings-0-branch": "main",
            "settings-0-dockerfile": "/",
            "settings-1-tag": "bad",
            "settings-1-branch": "bad..branch",
            "settings-1-dockerfile": "/",
        },
    )

    page = text(response)
    assert response.status_code == 200
    assert "&#x27;bad..branch&#x27; is not a valid git branch name." in page
    position = page.index("not a valid git branch name")
    assert page.rfind('name="settings-1-branch"', 0, position) > page.rfind(
        'name="settings-0-branch"', 0, position
    )


def test_a_name_in_someone_elses_namespace_is_explained_on_the_name(signed_in):
    response = signed_in.post(
        "/images/new/",
        {
            "name": f"{H}/bob/app",
            "autotests": "OFF",
            "settings-TOTAL_FORMS": "0",
            "settings-INITIAL_FORMS": "0",
        },
    )

    assert f"{H}/alice/&lt;name&gt;" in text(response)


def test_an_uppercase_name_is_refused_in_plain_words(signed_in):
    response = signed_in.post(
        "/images/new/",
        {
            "name": "MyApp",
            "autotests": "OFF",
            "settings-TOTAL_FORMS": "0",
            "settings-INITIAL_FORMS": "0",
        },
    )

    assert "Use lowercase letters only." in text(response)


def test_editing_the_description_keeps_the_rest(signed_in, alice, make_image):
    image = make_image(alice, "web", description="old")
    form = text(signed_in.get(f"/images/{image.name}/-/edit/"))
    assert "old" in form

    response = signed_in.post(
        f"/images/{image.name}/-/edit/",
        {
            "description": "new words",
            "autotests": "OFF",
            "settings-TOTAL_FORMS": "0",
            "settings-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    image.refresh_from_db()
    assert image.description == "new words"
    assert image.tags.count() == 1


def test_the_delete_page_names_the_first_tags_of_a_big_image_and_counts_the_rest(
    signed_in, alice, make_image
):
    image = make_image(alice, "big", tags=())
    Tag.objects.bulk_create(Tag(image=image, name=f"release-{n:04d}") for n in range(300))

    page = text(signed_in.get(f"/images/{image.name}/-/delete/"))

    assert "its 300 tags: release-0000, release-0001," in page
    # As many names as fit in a line or two, then how many more.
    assert "release-0013 and 286 more" in page


def test_the_pull_command_names_the_first_tag_when_there_is_no_latest(signed_in, alice, make_image):
    image = make_image(alice, "web", tags=["v2", "v1"])

    page = text(signed_in.get(f"/images/{image.name}/-/"))

    assert f"docker pull {image.name}:v1" in page


def test_delete_needs_the_exact_name(signed_in, alice, make_image, our_registry):
    image = make_image(alice, "web", tags=["a", "b"])
    page = text(signed_in.get(f"/images/{image.name}/-/delete/"))
    assert "its 2 tags" in page

    wrong = signed_in.post(f"/images/{image.name}/-/delete/", {"confirm": "web"})
    assert "nothing was deleted" in text(wrong)
    assert Image.objects.filter(pk=image.pk).exists()

    right = signed_in.post(f"/images/{image.name}/-/delete/", {"confirm": image.name})
    assert right.status_code == 302
    assert not Image.objects.filter(pk=image.pk).exists()


def test_user_text_is_escaped_everywhere(signed_in, alice, make_image):
    evil = "<script>alert(1)</script> \"quotes' {{ template }} {% tag %}"
    image = make_image(alice, "web", description=evil)
    layer = image.tags.get().layer
    layer.labels = [{"key": "x<b>", "value": evil}]
    layer.envvars = [{"key": "EVIL", "value": evil}]
    layer.save()

    for url in (
        "/",
        f"/images/{image.name}/-/",
        f"/images/{image.name}/-/tags/latest/",
        f"/images/{image.name}/-/edit/",
    ):
        page = text(signed_in.get(url))
        assert "<script>alert(1)</script>" not in page, url
        assert "x<b>" not in page
    tag_page = text(signed_in.get(f"/images/{image.name}/-/tags/latest/"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in tag_page
    assert "{{ template }}" in tag_page


def test_forms_refuse_posts_without_the_csrf_token(api_server, alice):
    client = Client(enforce_csrf_checks=True)

    assert (
        client.post("/login/", {"username": "alice", "password": alice.password}).status_code == 403
    )


def test_signing_in_rotates_the_csrf_token_kept_in_the_session(api_server, alice):
    client = Client(enforce_csrf_checks=True)
    before = client.get("/login/").context["csrf_token"]
    client.post(
        "/login/",
        {"username": "alice", "password": alice.password, "csrfmiddlewaretoken": str(before)},
    )

    stale = client.post("/logout/", {"csrfmiddlewaretoken": str(before)})
    after = client.get("/").context["csrf_token"]

    assert "csrftoken" not in client.cookies
    assert stale.status_code == 403
    assert "Nothing was changed" in text(stale) and "Reload it and try again" in text(stale)
    assert client.post("/logout/", {"csrfmiddlewaretoken": str(after)}).status_code == 302


def test_a_form_from_before_signing_out_elsewhere_says_what_happened(api_server, alice):
    client = Client(enforce_csrf_checks=True)
    login_token = str(client.get("/login/").context["csrf_token"])
    client.post(
        "/login/",
        {"username": "alice", "password": alice.password, "csrfmiddlewaretoken": login_token},
    )
    form_token = str(client.get("/images/new/").context["csrf_token"])
    client.post("/logout/", {"csrfmiddlewaretoken": form_token})  # "another tab"
    stale_form = {"csrfmiddlewaretoken": form_token, "description": "lost?"}

    page = client.post("/images/new/", stale_form, headers={"Referer": "http://testserver/x/"})
    htmx = client.post(
        "/images/new/",
        stale_form,
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/images/new/"},
    )

    assert page.status_code == 403
    assert "You are signed out" in text(page)
    assert 'href="/login/?next=http%3A//testserver/x/"' in text(page)
    assert htmx.headers["HX-Redirect"] == "/login/?next=%2Fimages%2Fnew%2F"


def test_pages_allow_only_their_own_scripts_and_styles_and_no_framing(signed_in):
    policy = signed_in.get("/").headers["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_an_unknown_image_is_a_helpful_404(signed_in):
    response = signed_in.get(f"/images/{H}/alice/ghost/-/")

    assert response.status_code == 404
    assert "Back to all images" in text(response)


def test_an_unreachable_api_is_a_friendly_page_with_a_retry(signed_in, settings):
    settings.TUTUM_API_URL = f"http://127.0.0.1:{free_port()}"

    response = signed_in.get("/?q=x")

    assert response.status_code == 503
    assert "We can't reach the image service" in text(response)
    assert 'href="/?q=x"' in text(response)
    assert "Traceback" not in text(response)


def test_an_unreachable_api_inline_for_htmx(signed_in, settings):
    settings.TUTUM_API_URL = f"http://127.0.0.1:{free_port()}"

    response = signed_in.get("/?q=x", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "Try again" in text(response)


def test_build_settings_without_a_repository_are_refused(signed_in):
    response = signed_in.post(
        "/images/new/",
        {
            "name": f"{H}/alice/app",
            "autotests": "OFF",
            "settings-TOTAL_FORMS": "1",
            "settings-INITIAL_FORMS": "0",
            "settings-0-tag": "latest",
            "settings-0-branch": "main",
            "settings-0-dockerfile": "/",
        },
    )

    assert "Build settings need a repository to build from." in text(response)
    assert not Image.objects.exists()


@pytest.mark.parametrize(
    "typed, lands_on",
    [
        (f"/images/{H}/alice/web/", f"/images/{H}/alice/web/-/"),
        (f"/images/{H}/alice/web", f"/images/{H}/alice/web/-/"),
        (f"/images/{H}/alice/web:v1/", f"/images/{H}/alice/web/-/tags/v1/"),
        (f"/images/{H}/alice/web/tags/v1/", f"/images/{H}/alice/web/-/tags/v1/"),
        ("/images/ubuntu:14.04/", "/images/ubuntu/-/tags/14.04/"),
    ],
)
def test_a_name_typed_or_pasted_without_the_dash_goes_to_its_page(
    signed_in, alice, make_image, typed, lands_on
):
    make_image(alice, "web", tags=["v1"])

    response = signed_in.get(typed)

    assert response.status_code == 302 and response["Location"] == lands_on
    if H in typed:  # (a Docker Hub name would be looked up there, out of reach here)
        assert signed_in.get(lands_on).status_code == 200


def test_an_image_literally_named_like_a_tag_path_wins(signed_in, alice, make_image):
    make_image(alice, "web/tags/v1")

    response = signed_in.get(f"/images/{H}/alice/web/tags/v1/")

    assert response["Location"] == f"/images/{H}/alice/web/tags/v1/-/"
