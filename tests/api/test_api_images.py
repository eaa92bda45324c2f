"""Contract of /api/v1/image/: fields, URIs, states, dates, filters, pagination, writes."""

from __future__ import annotations

import pytest
from django.conf import settings

from records.models import BuildSetting, Category, Image, State, Tag
from tests.fixtures.api import ApiClient

H = settings.REGISTRY_HOST


def test_it_lists_images_in_tutums_envelope(api, alice, make_image):
    make_image(alice, "app", description="My app")

    response = api.get("/api/v1/image/")

    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {
        "limit": 25,
        "next": None,
        "offset": 0,
        "previous": None,
        "total_count": 1,
    }
    (image,) = body["objects"]
    assert image == {
        "build_source": None,
        "categories": [],
        "description": "My app",
        "icon_url": "/static/img/docker.svg",
        "in_use": False,
        "is_private_image": True,
        "jumpstart": False,
        "last_build_date": "Fri, 8 Nov 2013 00:22:26 +0000",
        "name": f"{H}/alice/app",
        "public_url": "",
        "registry": f"/api/v1/registry/{H}/",
        "resource_uri": f"/api/v1/image/{H}/alice/app/",
        "star_count": 0,
        "state": "Success",
        "tags": [f"/api/v1/image/{H}/alice/app/tag/latest/"],
        "tag_count": 1,
        "team": None,
        "permissions": {"read": True, "write": True, "manage": True},
    }


def test_it_gets_an_image_by_a_raw_name_with_host_port_and_slashes(api, alice, make_image):
    make_image(alice, "team/deep/app")

    response = api.get(f"/api/v1/image/{H}/alice/team/deep/app/")

    assert response.status_code == 200
    assert response.json()["name"] == f"{H}/alice/team/deep/app"


def test_it_routes_a_tag_before_the_image_name(api, alice, make_image):
    make_image(alice, "app", tags=["v1"])

    response = api.get(f"/api/v1/image/{H}/alice/app/tag/v1/")

    assert response.status_code == 200
    assert response.json()["full_name"] == f"{H}/alice/app:v1"


def test_it_paginates_with_next_and_previous_links_that_keep_filters(api, alice, make_image):
    for i in range(5):
        make_image(alice, f"app{i}", private=False)

    first = api.get("/api/v1/image/?is_private_image=false&limit=2").json()
    second = api.get(first["meta"]["next"]).json()
    last = api.get(second["meta"]["next"]).json()

    assert first["meta"]["total_count"] == 5
    assert first["meta"]["next"] == "/api/v1/image/?is_private_image=false&limit=2&offset=2"
    assert [i["name"].rsplit("/", 1)[1] for i in second["objects"]] == ["app2", "app3"]
    assert second["meta"]["previous"] == "/api/v1/image/?is_private_image=false&limit=2&offset=0"
    assert last["meta"]["next"] is None
    assert len(last["objects"]) == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("is_private_image=true", {"private"}),
        ("is_private_image=False", {"public", "jump"}),
        ("is_private_image=0", {"public", "jump"}),
        ("jumpstart=True", {"jump"}),
        ("jumpstart=1", {"jump"}),
        ("categories__name=web", {"public"}),
        ("categories=web", {"public"}),
        (f"name={H}/alice/private", {"private"}),
        ("name__icontains=JUM", {"jump"}),
        (f"registry={H}", {"private", "public", "jump"}),
        (f"registry=/api/v1/registry/{H}/", {"private", "public", "jump"}),
        ("registry=other.example.com", set()),
        ("is_user_image=true", {"private", "public"}),
        ("is_user_image=false", {"jump"}),
        ("state=Success", {"private", "public", "jump"}),
        ("state=Empty", set()),
    ],
)
def test_it_filters_images(api, alice, bob, make_image, query, expected):
    make_image(alice, "private")
    public = make_image(alice, "public", private=False)
    public.categories.add(Category.objects.create(name="web"))
    make_image(bob, "jump", private=False, jumpstart=True)

    response = api.get(f"/api/v1/image/?{query}")

    assert response.status_code == 200
    assert {i["name"].rsplit("/", 1)[1] for i in response.json()["objects"]} == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("jumpstart=maybe", "jumpstart"),
        ("is_private_image=yes", "is_private_image"),
        ("limit=-1", "limit"),
        ("offset=abc", "offset"),
        ("order_by=size", "order_by"),
        ("state=SUCCESS", "state"),
    ],
)
def test_it_rejects_bad_query_parameters_naming_them(api, query, field):
    response = api.get(f"/api/v1/image/?{query}")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert response.json()["error"].startswith(field)


def test_it_caps_the_page_size(api, settings):
    settings.API_MAX_LIMIT = 50

    response = api.get("/api/v1/image/?limit=5000")

    assert response.json()["meta"]["limit"] == 50


def test_it_sorts_images_by_last_build_date(api, alice, make_image):
    old = make_image(alice, "old")
    new = make_image(alice, "new")
    Image.objects.filter(pk=old.pk).update(last_build_date="2020-01-01T00:00:00Z")
    Image.objects.filter(pk=new.pk).update(last_build_date="2024-01-01T00:00:00Z")

    names = [
        i["name"] for i in api.get("/api/v1/image/?order_by=-last_build_date").json()["objects"]
    ]

    assert names == [new.name, old.name]


@pytest.mark.parametrize(
    ("tag_states", "image_state"),
    [
        ([], "Empty"),
        ([State.EMPTY], "Empty"),
        ([State.SUCCESS, State.EMPTY], "Success"),
        ([State.SUCCESS, State.FAILED], "Failed"),
        ([State.FAILED, State.BUILDING], "Building"),
    ],
)
def test_image_state_derives_from_its_tags(api, alice, make_image, tag_states, image_state):
    image = make_image(alice, "app", tags=[])
    for i, state in enumerate(tag_states):
        make = make_image(alice, f"src{i}") if state == State.SUCCESS else None
        layer = make.tags.get().layer if make else None
        Tag.objects.create(image=image, name=f"t{i}", state=state, layer=layer)
    image.refresh_state()

    assert api.get(f"/api/v1/image/{image.name}/").json()["state"] == image_state


def test_it_registers_an_image_on_our_registry_with_build_settings(api):
    body = {
        "name": f"{H}/alice/web",
        "description": "Web front end",
        "build_source": {
            "owner": "tutumcloud",
            "repository": "test-private-repo",
            "build_settings": [
                {"tag": "latest", "branch": "master", "dockerfile": "/"},
                {
                    "tag": f"/api/v1/image/{H}/alice/web/tag/staging/",
                    "branch": "staging",
                    "dockerfile": "docker/",
                    "autobuild": True,
                },
            ],
        },
    }

    response = api.post("/api/v1/image/", body)

    assert response.status_code == 201, response.json()
    image = response.json()
    assert image["name"] == f"{H}/alice/web"
    assert image["state"] == "Empty"
    assert image["last_build_date"] is None
    assert image["build_source"] == {
        "autotests": "OFF",
        "has_access_token": False,
        "build_settings": [
            {
                "autobuild": False,
                "branch": "master",
                "dockerfile": "/",
                "tag": f"/api/v1/image/{H}/alice/web/tag/latest/",
            },
            {
                "autobuild": True,
                "branch": "staging",
                "dockerfile": "/docker",
                "tag": f"/api/v1/image/{H}/alice/web/tag/staging/",
            },
        ],
        "owner": "tutumcloud",
        "repository": "test-private-repo",
        "type": "GITHUB",
    }
    assert image["tags"] == [
        f"/api/v1/image/{H}/alice/web/tag/latest/",
        f"/api/v1/image/{H}/alice/web/tag/staging/",
    ]
    tag = api.get(image["tags"][0]).json()
    assert tag["buildable"] is True
    assert tag["state"] == "Empty"
    assert tag["layer"] is None


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        (f"{H}/alice/MyApp", "lowercase"),
        (f"{H}/alice/my app", "not a valid name component"),
        (f"{H}/alice//app", "empty path component"),
        (f"{H}/alice/app-", "not a valid name component"),
        ("bad_host:99999999/alice/app", "not a valid"),
        (f"{H}/alice/" + "a" * 260, "at most 255"),
    ],
)
def test_it_rejects_names_that_break_the_docker_grammar(api, name, rule):
    response = api.post("/api/v1/image/", {"name": name})

    assert response.status_code == 400
    assert rule in response.json()["fields"]["name"][0]
    assert Image.objects.count() == 0


def test_it_rejects_registering_in_another_users_namespace(api):
    response = api.post("/api/v1/image/", {"name": f"{H}/bob/app"})

    assert response.status_code == 400
    assert f"{H}/alice/<name>" in response.json()["fields"]["name"][0]


def test_it_answers_409_for_a_name_already_registered(api, alice, make_image):
    make_image(alice, "app")

    response = api.post("/api/v1/image/", {"name": f"{H}/alice/app"})

    assert response.status_code == 409
    assert "already registered" in response.json()["error"]


@pytest.mark.parametrize(
    ("settings_row", "field", "words"),
    [
        ({"tag": "-bad", "branch": "main"}, "build_source.build_settings.0.tag", "not a valid tag"),
        ({"tag": "v1", "branch": "bad..branch"}, "build_source.build_settings.0.branch", "branch"),
        (
            {"tag": "v1", "branch": "main", "dockerfile": "/../etc"},
            "build_source.build_settings.0.dockerfile",
            "..",
        ),
        ({"tag": "v1"}, "build_source.build_settings.0.branch", "required"),
    ],
)
def test_it_names_the_field_of_a_bad_build_setting(api, settings_row, field, words):
    body = {
        "name": f"{H}/alice/app",
        "build_source": {"owner": "o", "repository": "r", "build_settings": [settings_row]},
    }

    response = api.post("/api/v1/image/", body)

    assert response.status_code == 400
    assert words in response.json()["fields"][field][0]


def test_it_rejects_two_build_settings_for_one_tag(api):
    rows = [{"tag": "v1", "branch": "a"}, {"tag": "v1", "branch": "b"}]
    body = {
        "name": f"{H}/alice/app",
        "build_source": {"owner": "o", "repository": "r", "build_settings": rows},
    }

    response = api.post("/api/v1/image/", body)

    assert response.status_code == 400
    assert "two build settings" in response.json()["fields"]["build_source.build_settings"][0]


@pytest.mark.parametrize(
    "body",
    [
        [],
        "a string",
        {"name": ["a", "b"]},
        {"name": f"{H}/alice/app", "description": None},
        {"name": f"{H}/alice/app", "build_source": "github"},
        {
            "name": f"{H}/alice/app",
            "build_source": {"owner": "o", "repository": "r", "type": "BITBUCKET"},
        },
        {
            "name": f"{H}/alice/app",
            "build_source": {"owner": "o", "repository": "r", "autotests": "ON"},
        },
        {"name": f"{H}/alice/app", "surprise": 1},
    ],
)
def test_it_answers_bad_bodies_with_400_and_an_error_message(api, body):
    response = api.post("/api/v1/image/", body)

    assert response.status_code == 400
    assert isinstance(response.json()["error"], str) and response.json()["error"]


def test_it_answers_malformed_json_with_400(api):
    response = api.generic("POST", "/api/v1/image/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_patch_changes_only_the_fields_sent(api, alice, make_image):
    image = make_image(alice, "app", description="before")
    api.patch(
        f"/api/v1/image/{image.name}/",
        {
            "build_source": {
                "owner": "o",
                "repository": "r",
                "build_settings": [{"tag": "latest", "branch": "main"}],
            }
        },
    )

    response = api.patch(f"/api/v1/image/{image.name}/", {"description": "after"})

    assert response.status_code == 200
    assert response.json()["description"] == "after"
    assert response.json()["build_source"]["build_settings"][0]["branch"] == "main"
    assert response.json()["state"] == "Success"


def test_patch_replaces_the_build_settings_list(api, alice, make_image):
    image = make_image(alice, "app", tags=[])
    source = {"owner": "o", "repository": "r", "build_settings": [{"tag": "a", "branch": "main"}]}
    api.patch(f"/api/v1/image/{image.name}/", {"build_source": source})
    source["build_settings"] = [{"tag": "b", "branch": "dev", "autobuild": True}]

    response = api.patch(f"/api/v1/image/{image.name}/", {"build_source": source})

    assert [
        s["tag"].split("/tag/")[1] for s in response.json()["build_source"]["build_settings"]
    ] == ["b/"]
    assert response.json()["tags"] == [f"/api/v1/image/{image.name}/tag/b/"]
    assert BuildSetting.objects.count() == 1


def test_patch_with_null_build_source_removes_it(api, alice, make_image):
    image = make_image(alice, "app")
    api.patch(f"/api/v1/image/{image.name}/", {"build_source": {"owner": "o", "repository": "r"}})

    response = api.patch(f"/api/v1/image/{image.name}/", {"build_source": None})

    assert response.json()["build_source"] is None
    assert response.json()["tags"] == [f"/api/v1/image/{image.name}/tag/latest/"]


def test_patch_cannot_rename_an_image(api, alice, make_image):
    image = make_image(alice, "app")

    response = api.patch(f"/api/v1/image/{image.name}/", {"name": f"{H}/alice/other"})

    assert response.status_code == 400
    assert "name" in response.json()["fields"]


def test_a_public_image_of_someone_else_is_readable_but_not_writable(api, bob, make_image):
    image = make_image(bob, "shared", private=False)

    assert api.get(f"/api/v1/image/{image.name}/").status_code == 200
    response = api.patch(f"/api/v1/image/{image.name}/", {"description": "mine now"})
    assert response.status_code == 403
    assert "belongs to someone else" in response.json()["error"]
    assert api.delete(f"/api/v1/image/{image.name}/").status_code == 403
    assert Image.objects.filter(pk=image.pk).exists()


def test_an_unknown_endpoint_is_a_json_404(api):
    response = api.get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert "error" in response.json()


def test_an_unknown_image_is_a_404_naming_it(api):
    response = api.get(f"/api/v1/image/{H}/alice/ghost/")

    assert response.status_code == 404
    assert response.json() == {"error": f"No image named {H}/alice/ghost."}


def test_it_answers_requests_shaped_like_python_tutums(alice, make_image, our_registry):
    """python-tutum sends JSON Content-Type on every call, bodies only with changed fields."""
    image = make_image(alice, "app", description="before")
    client = ApiClient(alice.basic())
    headers = {"User-Agent": "python-tutum/v1.0"}

    fetched = client.generic(
        "GET", f"/api/v1/image/{image.name}/", "", "application/json", headers=headers
    )
    saved = client.generic(
        "PATCH",
        f"/api/v1/image/{image.name}/",
        '{"description": "after"}',
        "application/json",
        headers=headers,
    )
    empty = client.generic(
        "PATCH", f"/api/v1/image/{image.name}/", "{}", "application/json", headers=headers
    )
    deleted = client.generic(
        "DELETE", f"/api/v1/image/{image.name}/", "", "application/json", headers=headers
    )

    assert fetched.status_code == 200 and fetched.json()["description"] == "before"
    assert saved.status_code == 200 and saved.json()["description"] == "after"
    assert empty.status_code == 200 and empty.json()["description"] == "after"
    assert deleted.status_code == 204


@pytest.mark.parametrize(
    "source",
    [{"build_settings": None, "repository": ""}, {"repository": "", "owner": ""}, {}],
)
def test_an_empty_build_source_is_no_build_source(api, source):
    body = {"name": f"{H}/alice/web", "build_source": source, "username": "", "password": ""}

    response = api.post("/api/v1/image/", body)

    assert response.status_code == 201, response.json()
    assert response.json()["build_source"] is None


def test_the_build_source_owner_defaults_to_the_images_namespace(api):
    body = {
        "name": f"{H}/alice/web",
        "build_source": {"repository": "web", "build_settings": [{"tag": "latest", "branch": "m"}]},
    }

    response = api.post("/api/v1/image/", body)

    assert response.status_code == 201, response.json()
    assert response.json()["build_source"]["owner"] == "alice"


def test_a_build_source_without_owner_needs_a_namespace_to_default_to(api, settings):
    settings.REGISTRY_HOST = "tutum.local"
    body = {"name": "tutum.local/web", "build_source": {"repository": "web"}}

    response = api.post("/api/v1/image/", body)

    assert response.status_code == 400
    assert "has no namespace" in response.json()["fields"]["build_source.owner"][0]
