"""The image and tag reads that run on every list page and tag page, as plain SQL.

Compiling the ORM queries these replace cost more than the rest of the request
(bench/api_list.py); each has a test holding its rows to what the ORM loads
(tests/api/test_api_tags.py, tests/api/test_image_queries.py).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Exists, OuterRef

from records.models import (
    BuildSetting,
    BuildSource,
    Category,
    Image,
    Layer,
    Membership,
    Registry,
    Tag,
)
from records.rows import from_row


def buildable_tags(image: Image) -> set[str]:
    return set(BuildSetting.objects.filter(build_source__image=image).values_list("tag", flat=True))


def is_buildable(image: Image) -> Exists:
    """Whether the tag of the outer query, one of `image`'s, has a build setting: a column of
    a tag list's page rather than a query of its own."""
    settings = BuildSetting.objects.filter(build_source__image_id=image.pk, tag=OuterRef("name"))
    return Exists(settings)


def related_rows(ids: list[int], tagged: list[int]) -> tuple[list, list, list]:
    """Tag names of the images `tagged`, and category names and build sources (with
    settings) of the images `ids`.

    Plain SQL on purpose: these run on every list page, and compiling three ORM queries
    cost more than the rest of the request (bench/api_list.py).
    """
    tag, category = Tag._meta.db_table, Category._meta.db_table
    image_category = Image.categories.through._meta.db_table
    source, setting = BuildSource._meta.db_table, BuildSetting._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    tags = []
    with connection.cursor() as cursor:
        if tagged:
            cursor.execute(
                f"SELECT image_id, name FROM {tag} WHERE image_id IN "
                f"({', '.join(['%s'] * len(tagged))}) ORDER BY name",
                tagged,
            )
            tags = cursor.fetchall()
        cursor.execute(
            f"SELECT ic.image_id, c.name FROM {image_category} ic "
            f"JOIN {category} c ON c.id = ic.category_id "
            f"WHERE ic.image_id IN ({marks}) ORDER BY c.name",
            ids,
        )
        categories = cursor.fetchall()
        cursor.execute(
            f"SELECT s.image_id, s.type, s.owner, s.repository, s.autotests, "
            f"s.access_token_encrypted != '', "
            f"b.tag, b.branch, b.dockerfile, b.autobuild FROM {source} s "
            f"LEFT JOIN {setting} b ON b.build_source_id = s.id "
            f"WHERE s.image_id IN ({marks}) ORDER BY b.id",
            ids,
        )
        sources = cursor.fetchall()
    return tags, categories, sources


def pull_tag(image_id: int) -> str | None:
    """latest if the image has it, else its first tag by name; None: no tags. Two lookups in
    the (image, name) index (one condition with OR made PostgreSQL read all of an image's
    100,000 tags: 18 ms)."""
    table = Tag._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT name FROM {table} WHERE image_id = %s AND name = %s), "
            f"(SELECT MIN(name) FROM {table} WHERE image_id = %s)",
            [image_id, "latest", image_id],
        )
        latest, first = cursor.fetchone()
    return latest or first


_TAG_COLUMNS = (
    "id",
    "name",
    "state",
    "digest",
    "media_type",
    "size",
    "platforms",
    "pushed_by",
    "pushed_at",
    "last_pulled",
    "last_build_date",
)
_LAYER_COLUMNS = (
    "id",
    "docker_id",
    "author",
    "creation",
    "entrypoint",
    "run_command",
    "envvars",
    "labels",
    "ports",
    "volumes",
    "size",
    "os",
    "architecture",
    "variant",
    "layers",
    "history",
)


def visible_tag(user_id: int, image_name: str, tag_name: str) -> Tag | None:
    """A tag of an image the user may see, with its layer, image, registry and `buildable`.

    Plain SQL on purpose: the tag page calls this on every view, and compiling the same ORM
    query (joins, visibility, an EXISTS) cost twice as much as the rest of the request.
    """
    tag_t, image_t, layer_t = Tag._meta.db_table, Image._meta.db_table, Layer._meta.db_table
    registry_t, source_t = Registry._meta.db_table, BuildSource._meta.db_table
    setting_t, membership_t = BuildSetting._meta.db_table, Membership._meta.db_table
    tag_cols = ", ".join(f"t.{c}" for c in _TAG_COLUMNS)
    layer_cols = ", ".join(f"l.{c}" for c in _LAYER_COLUMNS)
    sql = (
        f"SELECT {tag_cols}, {layer_cols}, i.id, i.is_private_image, i.owner_id, i.team_id, "
        f"i.registry_id, r.host, r.is_tutum_registry, "
        f"EXISTS (SELECT 1 FROM {setting_t} b JOIN {source_t} s ON s.id = b.build_source_id "
        f"WHERE s.image_id = i.id AND b.tag = t.name) "
        f"FROM {tag_t} t JOIN {image_t} i ON i.id = t.image_id "
        f"JOIN {registry_t} r ON r.id = i.registry_id "
        f"LEFT JOIN {layer_t} l ON l.id = t.layer_id "
        f"WHERE i.name = %s AND t.name = %s AND (i.is_private_image = %s OR i.owner_id = %s "
        f"OR i.team_id IN (SELECT m.team_id FROM {membership_t} m WHERE m.user_id = %s))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [image_name, tag_name, False, user_id, user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    n_tag, n_layer = len(_TAG_COLUMNS), len(_LAYER_COLUMNS)
    tag_values, layer_values = row[:n_tag], row[n_tag : n_tag + n_layer]
    image_id, private, owner_id, team_id, registry_id, host, ours, buildable = row[
        n_tag + n_layer :
    ]
    registry = Registry(id=registry_id, host=host, is_tutum_registry=bool(ours))
    image = Image(
        id=image_id,
        name=image_name,
        is_private_image=bool(private),
        owner_id=owner_id,
        team_id=team_id,
        registry_id=registry_id,
    )
    image.registry = registry
    tag = from_row(Tag, ("image_id", *_TAG_COLUMNS), (image_id, *tag_values))
    tag.image = image
    layer = None
    if layer_values[0] is not None:
        layer = from_row(Layer, _LAYER_COLUMNS, layer_values)
    tag.layer_id = layer.id if layer else None
    tag.layer = layer
    tag.buildable = bool(buildable)
    return tag
