"""The JSON of images, tags, layers and registries, built from few, flat queries.

List endpoints are hot (the web admin calls them on every page), so representations are
plain dicts built from flat rows rather than nested serializers; the OpenAPI schema
for them is declared in serializers.py and checked against real responses by schemathesis.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef

from api.core import formats
from builds import queue as build_rules
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
from teams.access import Ability, TokenViewer, Viewer

ICON_URL = "/static/img/docker.svg"


def layer_json(layer: Layer | None, *, steps: bool = True) -> dict | None:
    """A layer; `steps`: with its `layers` and `history` (not in tag lists, see tag_json)."""
    if layer is None:
        return None
    body = {
        "author": layer.author,
        "creation": formats.rfc2822(layer.creation),
        "docker_id": layer.docker_id,
        "entrypoint": layer.entrypoint,
        "envvars": layer.envvars,
        "labels": layer.labels,
        "ports": layer.ports,
        "resource_uri": formats.layer_uri(layer.docker_id),
        "run_command": layer.run_command,
        "volumes": layer.volumes,
    }
    if steps:
        # Extensions: the manifest's layers, and the build steps from the config's history.
        body["layers"] = layer.layers
        body["history"] = [
            {**step, "created": _rfc2822(step.get("created"))} for step in layer.history
        ]
    return body


def _rfc2822(iso: str | None) -> str | None:
    return formats.rfc2822(datetime.fromisoformat(iso)) if iso else None


def buildable_tags(image: Image) -> set[str]:
    return set(BuildSetting.objects.filter(build_source__image=image).values_list("tag", flat=True))


def is_buildable(image: Image) -> Exists:
    """Whether the tag of the outer query, one of `image`'s, has a build setting: a column of
    a tag list's page rather than a query of its own."""
    settings = BuildSetting.objects.filter(build_source__image_id=image.pk, tag=OuterRef("name"))
    return Exists(settings)


def permissions_json(abilities) -> dict:
    return {ability.value: ability in abilities for ability in Ability}


# What tag_json reads of a tag and its layer when it leaves the steps out, all a tag list
# loads: reading a timestamp PostgreSQL sends costs about 5 µs through Django's loader, and
# the whole rows of a page of 25 tags held 156 of them, half never shown.
TAG_LIST_FIELDS = (
    "name",
    "state",
    "digest",
    "size",
    "platforms",
    "pushed_by",
    "pushed_at",
    "last_pulled",
    "layer__docker_id",
    "layer__author",
    "layer__creation",
    "layer__entrypoint",
    "layer__run_command",
    "layer__envvars",
    "layer__labels",
    "layer__ports",
    "layer__volumes",
    "layer__os",
    "layer__architecture",
    "layer__variant",
)


def tag_json(
    tag: Tag, image_name: str, buildable: set[str], abilities, *, steps: bool = True
) -> dict:
    """A tag; `tag.layer` should be loaded with select_related. `abilities`: what the caller
    may do with its image (teams.access). `steps`: its layer's layers and build steps, which
    a tag list leaves out (a page of 25 tags would carry 25 histories nobody shows)."""
    layer = tag.layer
    return {
        "buildable": tag.name in buildable,
        "full_name": f"{image_name}:{tag.name}",
        "image": formats.image_uri(image_name),
        "layer": layer_json(layer, steps=steps),
        "name": tag.name,
        "resource_uri": formats.tag_uri(image_name, tag.name),
        "state": tag.state,
        # Extensions: what the registry serves, read when it was pushed or synced.
        "digest": tag.digest,
        "size": tag.size,
        "os": layer.os if layer else "",
        "architecture": layer.architecture if layer else "",
        "variant": layer.variant if layer else "",
        "platforms": tag.platforms,
        "pushed_by": tag.pushed_by,
        "pushed_at": formats.rfc2822(tag.pushed_at),
        "last_pulled": formats.rfc2822(tag.last_pulled),
        "permissions": permissions_json(abilities),
    }


IMAGE_FIELDS = (
    "pk",
    "name",
    "description",
    "is_private_image",
    "jumpstart",
    "last_build_date",
    "public_url",
    "star_count",
    "state",
    "owner_id",
    "team_id",
    "team__name",
    "registry__host",
)


def image_row(image: Image) -> dict:
    """The `IMAGE_FIELDS` row of an image already loaded as a model."""
    row = {field: getattr(image, field) for field in IMAGE_FIELDS[:-2]}
    row["team__name"] = image.team.name if image.team_id else None
    row["registry__host"] = image.registry.host
    return row


def _related_rows(ids: list[int]) -> tuple[list, list, list]:
    """Tag names, category names and build sources (with settings) of the images `ids`.

    Plain SQL on purpose: these run on every list page, and compiling three ORM queries
    cost more than the rest of the request (bench/api_list.py).
    """
    tag, category = Tag._meta.db_table, Category._meta.db_table
    image_category = Image.categories.through._meta.db_table
    source, setting = BuildSource._meta.db_table, BuildSetting._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT image_id, name FROM {tag} WHERE image_id IN ({marks}) ORDER BY name", ids
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


def images_json(rows: list[dict], viewer: Viewer | TokenViewer) -> list[dict]:
    """Images (`IMAGE_FIELDS` rows) with their tags, categories and build sources, and what
    `viewer` may do with each."""
    ids = [row["pk"] for row in rows]
    if not ids:
        return []
    tag_rows, category_rows, source_rows = _related_rows(ids)
    tags = defaultdict(list)
    for image_id, name in tag_rows:
        tags[image_id].append(name)
    categories = defaultdict(list)
    for image_id, name in category_rows:
        categories[image_id].append({"name": name})
    sources: dict[int, dict] = {}
    for image_id, type_, owner, repository, autotests, has_token, *setting in source_rows:
        entry = sources.setdefault(
            image_id,
            {
                "type": type_,
                "owner": owner,
                "repository": repository,
                "autotests": autotests,
                "has_access_token": bool(has_token),
                "build_settings": [],
            },
        )
        if setting[0] is not None:
            tag_name, branch, dockerfile, autobuild = setting
            entry["build_settings"].append(
                {
                    "autobuild": bool(autobuild),
                    "branch": branch,
                    "dockerfile": dockerfile,
                    "tag": tag_name,
                }
            )
    return [
        _image_json(
            row,
            tags[row["pk"]],
            categories[row["pk"]],
            sources.get(row["pk"]),
            viewer.abilities(row["owner_id"], row["team_id"], row["is_private_image"]),
        )
        for row in rows
    ]


def _image_json(
    row: dict, tags: list[str], categories: list[dict], source: dict | None, abilities
) -> dict:
    name = row["name"]
    build_source = None
    if source is not None:
        build_source = {
            "autotests": source["autotests"],
            "build_settings": [
                {**setting, "tag": formats.tag_uri(name, setting["tag"])}
                for setting in source["build_settings"]
            ],
            "has_access_token": source["has_access_token"],
            "owner": source["owner"],
            "repository": source["repository"],
            "type": source["type"],
        }
    return {
        "build_source": build_source,
        "categories": categories,
        "description": row["description"],
        "icon_url": ICON_URL,
        # No services run here, so no image is ever in use by one.
        "in_use": False,
        "is_private_image": row["is_private_image"],
        "jumpstart": row["jumpstart"],
        "last_build_date": formats.rfc2822(row["last_build_date"]),
        "name": name,
        "public_url": row["public_url"],
        "registry": formats.registry_uri(row["registry__host"]),
        "resource_uri": formats.image_uri(name),
        "star_count": row["star_count"],
        "state": row["state"],
        "tags": [formats.tag_uri(name, tag) for tag in tags],
        # Extensions: the team that owns it (None: a person), and what the caller may do.
        "team": row["team__name"],
        "permissions": permissions_json(abilities),
    }


def registry_json(registry: Registry) -> dict:
    _, _, port = registry.host.rpartition(":")
    return {
        "host": registry.host,
        "icon_url": ICON_URL,
        "is_ssl": registry.is_ssl,
        "is_tutum_registry": registry.is_tutum_registry,
        "name": registry.name,
        "port": int(port) if port.isdigit() else 443 if registry.is_ssl else 80,
        "resource_uri": formats.registry_uri(registry.host),
    }


def build_json(build, image_name: str, tag_name: str, workers_online: int) -> dict:
    """A build (annotated with `log_size`); `workers_online` is counted once per response."""

    return {
        "uuid": str(build.uuid),
        "resource_uri": formats.build_uri(build.uuid),
        "image": formats.image_uri(image_name),
        "tag": formats.tag_uri(image_name, tag_name),
        "tag_name": tag_name,
        "state": build.state,
        "trigger": build.trigger,
        "triggered_by": build.triggered_by.get_username() if build.triggered_by else None,
        "branch": build.branch,
        "dockerfile": build.dockerfile,
        "commit": build.commit_sha,
        "commit_message": build.commit_message,
        "digest": build.digest,
        "error": build.error,
        "created": formats.rfc2822(build.created),
        "started": formats.rfc2822(build.started),
        "finished": formats.rfc2822(build.finished),
        "duration": build.duration,
        "queue_position": build_rules.queue_position(build),
        "workers_online": workers_online,
        "log": formats.build_uri(build.uuid) + "log/",
        "log_size": build.log_size,
    }


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
