"""Contract of tags, layers and registries: fields, URIs, the tag list's filters and order."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings

from records.models import Layer, Tag

H = settings.REGISTRY_HOST


def test_a_tag_has_every_field_of_the_spec(api, alice, make_image):
    image = make_image(alice, "image1")

    response = api.get(f"/api/v1/image/{image.name}/tag/latest/")

    assert response.status_code == 200
    docker_id = image.tags.get().layer.docker_id
    assert response.json() == {
        "buildable": False,
        "full_name": f"{H}/alice/image1:latest",
        "image": f"/api/v1/image/{H}/alice/image1/",
        "layer": {
            "author": "Fernando Mayo <fernando@tutum.co>",
            "creation": "Fri, 8 Nov 2013 00:22:26 +0000",
            "docker_id": docker_id,
            "entrypoint": "",
            "envvars": [{"key": "HOME", "value": "/"}, {"key": "PATH", "value": "/usr/bin:/bin"}],
            "labels": [{"key": "Tutum", "value": "Pure awesomeness"}],
            "ports": [{"port": 80, "protocol": "tcp"}],
            "resource_uri": f"/api/v1/layer/{docker_id}/",
            "run_command": "/run.sh",
            "volumes": [{"container_path": "/app"}],
            "layers": [],
            "history": [],
        },
        "name": "latest",
        "resource_uri": f"/api/v1/image/{H}/alice/image1/tag/latest/",
        "state": "Success",
        "digest": f"sha256:{docker_id}",
        "size": None,
        "os": "",
        "architecture": "",
        "variant": "",
        "platforms": [],
        "pushed_by": "",
        "pushed_at": None,
        "last_pulled": None,
        "permissions": {"read": True, "write": True, "manage": True},
    }


def test_a_tag_shows_its_digest_size_platforms_pusher_and_build_steps(api, alice, make_image):
    image = make_image(alice, "details")
    tag = image.tags.get()
    blob = {"digest": "sha256:" + "b" * 64, "size": 1083826, "media_type": "tar+gzip"}
    step = {"created_by": "/bin/sh -c #(nop) ENV A=1", "comment": "", "empty_layer": True}
    Layer.objects.filter(pk=tag.layer_id).update(
        os="linux",
        architecture="arm64",
        variant="v8",
        layers=[blob],
        history=[
            {**step, "created": "2024-03-05T09:08:07+00:00", "size": 0},
            {**step, "created": None, "size": None},
        ],
    )
    platforms = [
        {"os": "linux", "architecture": "arm64", "variant": "v8", "digest": "sha256:1", "size": 9},
        {"os": "linux", "architecture": "amd64", "variant": "", "digest": "sha256:2", "size": 8},
    ]
    Tag.objects.filter(pk=tag.pk).update(
        size=1084500,
        platforms=platforms,
        pushed_by="alice",
        pushed_at=datetime(2024, 3, 5, 9, 10, tzinfo=UTC),
    )

    detail = api.get(f"/api/v1/image/{image.name}/tag/latest/").json()
    listed = api.get(f"/api/v1/image/{image.name}/tag/").json()["objects"][0]

    # A list leaves each layer's layers and steps out; the rest is the same.
    layer = {
        key: value for key, value in detail["layer"].items() if key not in ("layers", "history")
    }
    assert listed == {**detail, "layer": layer}
    assert (detail["os"], detail["architecture"], detail["variant"]) == ("linux", "arm64", "v8")
    assert detail["size"] == 1084500
    assert detail["platforms"] == platforms
    assert (detail["pushed_by"], detail["pushed_at"]) == ("alice", "Tue, 5 Mar 2024 09:10:00 +0000")
    assert detail["layer"]["layers"] == [blob]
    assert detail["layer"]["history"] == [
        {**step, "created": "Tue, 5 Mar 2024 09:08:07 +0000", "size": 0},
        {**step, "created": None, "size": None},
    ]


def test_an_unknown_tag_is_a_404_naming_it(api, alice, make_image):
    image = make_image(alice, "app")

    response = api.get(f"/api/v1/image/{image.name}/tag/nope/")

    assert response.status_code == 404
    assert response.json()["error"] == f"{image.name} has no tag nope."


def test_the_tag_list_is_paginated_full_tag_objects(api, alice, make_image):
    image = make_image(alice, "app", tags=[f"v{i:02d}" for i in range(30)])

    page = api.get(f"/api/v1/image/{image.name}/tag/?limit=10&offset=10").json()

    assert page["meta"]["total_count"] == 30
    assert [t["name"] for t in page["objects"]] == [f"v{i:02d}" for i in range(10, 20)]
    assert page["objects"][0]["layer"]["author"].startswith("Fernando")
    assert page["meta"]["next"] == f"/api/v1/image/{image.name}/tag/?limit=10&offset=20"


def test_the_tag_list_filters_by_part_of_the_name_and_orders_by_creation(api, alice, make_image):
    image = make_image(alice, "app", tags=["v1", "v2", "latest", "v1-debug"])
    for i, name in enumerate(["v1", "v2", "latest", "v1-debug"]):
        # As if each had been pushed with an image made that day (a push copies the date).
        made = datetime(2020, 1, 1 + i, tzinfo=UTC)
        Layer.objects.filter(tags__image=image, tags__name=name).update(creation=made)
        image.tags.filter(name=name).update(creation=made)

    by_name = api.get(f"/api/v1/image/{image.name}/tag/?name=v1").json()["objects"]
    newest = api.get(f"/api/v1/image/{image.name}/tag/?order_by=-creation").json()["objects"]

    assert [t["name"] for t in by_name] == ["v1", "v1-debug"]
    assert [t["name"] for t in newest] == ["v1-debug", "latest", "v2", "v1"]


def test_a_tag_is_buildable_when_a_build_setting_names_it(api, alice, make_image):
    image = make_image(alice, "app", tags=["latest", "other"])
    source = {
        "owner": "o",
        "repository": "r",
        "build_settings": [{"tag": "latest", "branch": "main"}],
    }
    api.patch(f"/api/v1/image/{image.name}/", {"build_source": source})

    tags = api.get(f"/api/v1/image/{image.name}/tag/").json()["objects"]

    assert {t["name"]: t["buildable"] for t in tags} == {"latest": True, "other": False}


def test_a_tag_list_shows_each_tag_as_its_own_page_does_without_the_steps(api, alice, make_image):
    image = make_image(alice, "same", tags=["latest", "v1"])
    Tag.objects.filter(image=image, name="v1").update(
        size=1234, platforms=[{"os": "linux", "architecture": "arm64"}], pushed_by="alice"
    )
    api.patch(
        f"/api/v1/image/{image.name}/",
        {"build_source": {"owner": "o", "repository": "r", "build_settings": [{"tag": "v1"}]}},
    )

    listed = api.get(f"/api/v1/image/{image.name}/tag/").json()["objects"]

    for entry in listed:
        own = api.get(f"/api/v1/image/{image.name}/tag/{entry['name']}/").json()
        del own["layer"]["layers"], own["layer"]["history"]
        assert entry == own


def test_list_endpoints_run_a_constant_number_of_queries(
    api, alice, make_image, django_assert_max_num_queries
):
    for i in range(30):
        image = make_image(alice, f"app{i}", tags=["a", "b"])
        api.patch(
            f"/api/v1/image/{image.name}/",
            {
                "build_source": {
                    "owner": "o",
                    "repository": "r",
                    "build_settings": [{"tag": "a", "branch": "m"}],
                }
            },
        )
    many = make_image(alice, "many", tags=[f"t{i}" for i in range(60)])

    with django_assert_max_num_queries(8):
        assert len(api.get("/api/v1/image/?limit=2").json()["objects"]) == 2
    with django_assert_max_num_queries(8):
        assert len(api.get("/api/v1/image/?limit=31").json()["objects"]) == 31
    with django_assert_max_num_queries(8):
        assert len(api.get(f"/api/v1/image/{many.name}/tag/?limit=2").json()["objects"]) == 2
    with django_assert_max_num_queries(8):
        assert len(api.get(f"/api/v1/image/{many.name}/tag/?limit=60").json()["objects"]) == 60


def test_a_layer_is_readable_by_its_docker_id(api, alice, make_image):
    image = make_image(alice, "app")
    docker_id = Tag.objects.get(image=image).layer.docker_id

    response = api.get(f"/api/v1/layer/{docker_id}/")

    assert response.status_code == 200
    assert response.json()["resource_uri"] == f"/api/v1/layer/{docker_id}/"
    assert response.json()["creation"] == "Fri, 8 Nov 2013 00:22:26 +0000"


def test_registries_are_listed_and_readable(api, alice, make_image):
    make_image(alice, "app")

    listing = api.get("/api/v1/registry/").json()
    detail = api.get(f"/api/v1/registry/{H}/").json()

    assert listing["meta"]["total_count"] == 1
    assert detail == listing["objects"][0]
    assert detail["host"] == H
    assert detail["resource_uri"] == f"/api/v1/registry/{H}/"
    assert detail["is_tutum_registry"] is True
    assert api.get("/api/v1/registry/nowhere.example.com/").status_code == 404


def test_the_plain_sql_tag_lookup_loads_what_the_orm_loads(alice, bob, make_image):
    from api.images.queries import visible_tag

    image = make_image(alice, "sqlcheck", tags=["v1"])
    expected = Tag.objects.select_related("layer").get(image=image, name="v1")

    found = visible_tag(alice.user.pk, image.name, "v1")

    # Every field the API shows is loaded by that one query, none left to load later.
    # (`created` and `creation`, the layer's copied for ordering, are not shown.)
    assert found.get_deferred_fields() == {"created", "creation"}
    assert found.layer.get_deferred_fields() == set()
    unshown = {"created", "creation"}
    for field in [f.attname for f in Tag._meta.concrete_fields if f.name not in unshown]:
        assert getattr(found, field) == getattr(expected, field), field
    for field in [f.attname for f in Layer._meta.concrete_fields]:
        assert getattr(found.layer, field) == getattr(expected.layer, field), field
    assert found.image.registry.host == image.registry.host
    assert visible_tag(bob.user.pk, image.name, "v1") is None  # private: not bob's to see


def test_the_plain_sql_key_lookup_loads_the_right_user_fields(alice, make_account):
    from records.models import ApiKey

    staff = make_account("root", staff=True)

    assert ApiKey.objects.find(alice.key).user.is_staff is False
    assert ApiKey.objects.find(alice.key).user.is_active is True
    assert ApiKey.objects.find(staff.key).user.is_staff is True
    assert ApiKey.objects.find("not-a-key") is None


def test_a_tag_named_like_an_image_extension_is_the_tag(api, alice, make_image):
    image = make_image(alice, "app", tags=["access", "deleted", "cleanup-policy", "build"])

    for tag in ("access", "deleted", "cleanup-policy", "build"):
        response = api.get(f"/api/v1/image/{image.name}/tag/{tag}/")

        assert response.status_code == 200, tag
        assert response.json()["full_name"] == f"{image.name}:{tag}"
    history = api.get(f"/api/v1/image/{image.name}/tag/build/build/")
    assert history.status_code == 200 and history.json()["objects"] == []
