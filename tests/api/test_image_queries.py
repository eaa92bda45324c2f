"""The image list's plain-SQL read (api.images.queries.related_rows) finds what the ORM finds.
(The tag page's, visible_tag, is held to the ORM in tests/api/test_api_tags.py.)"""

from __future__ import annotations

import pytest

from api.images.queries import related_rows
from records.models import BuildSetting, BuildSource, Category

pytestmark = pytest.mark.django_db


def test_the_plain_sql_list_read_finds_the_tags_categories_and_build_sources_the_orm_finds(
    alice, bob, make_image
):
    web, db = Category.objects.create(name="web"), Category.objects.create(name="db")
    built = make_image(alice, "built", tags=["v2", "v1"])
    built.categories.add(web, db)
    source = BuildSource(image=built, owner="alice", repository="app")
    source.access_token = "secret"
    source.save()
    BuildSetting.objects.create(build_source=source, tag="v1", branch="main", autobuild=True)
    BuildSetting.objects.create(build_source=source, tag="v2", branch="dev", dockerfile="/d/")
    unbuilt = make_image(alice, "unbuilt", tags=[])
    BuildSource.objects.create(image=unbuilt, owner="alice", repository="other")
    bare = make_image(alice, "bare", tags=["latest"])
    elsewhere = make_image(bob, "elsewhere", tags=["x"])  # not asked for
    elsewhere.categories.add(web)
    images = [built, unbuilt, bare]

    ids = [image.pk for image in images]
    tags, categories, sources = related_rows(ids, ids)

    in_orm = [(image.pk, tag.name) for image in images for tag in image.tags.all()]
    assert tags == sorted(in_orm, key=lambda row: row[1])  # in name order
    assert sorted(categories) == sorted(
        (image.pk, category.name) for image in images for category in image.categories.all()
    )
    expected = [
        (built.pk, "GITHUB", "alice", "app", "OFF", True, "v1", "main", "/", True),
        (built.pk, "GITHUB", "alice", "app", "OFF", True, "v2", "dev", "/d/", False),
        (unbuilt.pk, "GITHUB", "alice", "other", "OFF", False, None, None, None, None),
    ]
    assert sorted(_plain(row) for row in sources) == sorted(expected)


def _plain(row: tuple) -> tuple:
    """SQLite answers booleans as 0 and 1, PostgreSQL as False and True."""
    return tuple(bool(v) if isinstance(v, int) and i in (5, 9) else v for i, v in enumerate(row))
