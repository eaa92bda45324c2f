"""The shapes of images, tags, layers and registries: each read shape's serializer (the
OpenAPI schema) beside the function that builds its JSON, then the request bodies.

List endpoints are hot (the web admin calls them on every page), so the JSON is plain dicts
built from flat rows (api.images.queries) rather than by the serializers; tests/api/test_shapes.py
holds each builder to its serializer, and schemathesis real responses to the schema.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from api.core import formats
from api.core.rendering import Kept
from api.core.shapes import DateField, KeyValueSerializer, StrictSerializer
from api.images import kept
from api.images.queries import related_rows
from records.models import BuildSource, Image, Layer, Registry, State, Tag
from registry import names
from teams.access import Ability, TokenViewer, Viewer

ICON_URL = "/static/img/docker.svg"


class PermissionsSerializer(serializers.Serializer):
    read = serializers.BooleanField(help_text="See and pull it.")
    write = serializers.BooleanField(help_text="Edit, build, push, delete tags.")
    manage = serializers.BooleanField(help_text="Delete it, change who can see it.")


def permissions_json(abilities) -> dict:
    return {ability.value: ability in abilities for ability in Ability}


class PortSerializer(serializers.Serializer):
    port = serializers.IntegerField()
    protocol = serializers.CharField()


class VolumeSerializer(serializers.Serializer):
    container_path = serializers.CharField()


class BlobSerializer(serializers.Serializer):
    digest = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes, compressed.")
    media_type = serializers.CharField()


class HistoryStepSerializer(serializers.Serializer):
    created = DateField(allow_null=True)
    created_by = serializers.CharField(help_text="The instruction, e.g. `/bin/sh -c apk add …`.")
    comment = serializers.CharField()
    empty_layer = serializers.BooleanField(help_text="The step changed the config only.")
    size = serializers.IntegerField(
        allow_null=True,
        help_text="Bytes of the step's layer, compressed; 0 for an empty one, null if the "
        "manifest has no layer for it.",
    )


class LayerSerializer(serializers.Serializer):
    author = serializers.CharField()
    creation = DateField(allow_null=True)
    docker_id = serializers.CharField()
    entrypoint = serializers.CharField()
    envvars = KeyValueSerializer(many=True)
    labels = KeyValueSerializer(many=True)
    ports = PortSerializer(many=True)
    resource_uri = serializers.CharField()
    run_command = serializers.CharField()
    volumes = VolumeSerializer(many=True)
    # Not in tag lists: only in a tag's own response and the layer's.
    layers = BlobSerializer(
        many=True,
        required=False,
        help_text="Extension: the manifest's layers, in order. Not in tag lists.",
    )
    history = HistoryStepSerializer(
        many=True,
        required=False,
        help_text="Extension: the build steps, from the image config's history. Not in tag lists.",
    )


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


class PlatformSerializer(serializers.Serializer):
    os = serializers.CharField()
    architecture = serializers.CharField()
    variant = serializers.CharField()
    digest = serializers.CharField(help_text="The platform's own manifest.")
    size = serializers.IntegerField(
        allow_null=True,
        help_text="Bytes a pull of this platform downloads; null when not read (public images).",
    )


class TagSerializer(serializers.Serializer):
    buildable = serializers.BooleanField()
    full_name = serializers.CharField()
    image = serializers.CharField()
    layer = LayerSerializer(allow_null=True)
    name = serializers.CharField()
    resource_uri = serializers.CharField()
    state = serializers.ChoiceField(choices=State.choices)
    # Extensions, read from the registry when the tag was pushed or synced.
    digest = serializers.CharField(help_text="Extension: the manifest (or index) digest.")
    size = serializers.IntegerField(
        allow_null=True,
        help_text="Extension: bytes a pull downloads, the image config and its compressed "
        "layers (for an index, of the platform shown); null until read.",
    )
    os = serializers.CharField(help_text="Extension: from the image config.")
    architecture = serializers.CharField(help_text="Extension: from the image config.")
    variant = serializers.CharField(help_text="Extension: from the image config.")
    platforms = PlatformSerializer(
        many=True, help_text="Extension: a multi-platform image's platforms; [] for one image."
    )
    pushed_by = serializers.CharField(
        help_text="Extension: who pushed it; for a build, the person it ran for."
    )
    pushed_at = DateField(allow_null=True, help_text="Extension: RFC 2822, UTC.")
    last_pulled = DateField(
        allow_null=True, help_text="Extension: its last pull from our registry, to the minute."
    )
    permissions = PermissionsSerializer(help_text="Extension: what you may do with its image.")


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


class BuildSettingReadSerializer(serializers.Serializer):
    autobuild = serializers.BooleanField()
    branch = serializers.CharField()
    dockerfile = serializers.CharField()
    tag = serializers.CharField(help_text="The tag's resource URI.")


class BuildSourceReadSerializer(serializers.Serializer):
    autotests = serializers.ChoiceField(choices=BuildSource.Autotests.choices)
    build_settings = BuildSettingReadSerializer(many=True)
    has_access_token = serializers.BooleanField(
        help_text="A git access token is stored (it is never returned)."
    )
    owner = serializers.CharField()
    repository = serializers.CharField()
    type = serializers.ChoiceField(choices=BuildSource.Type.choices)


class CategorySerializer(serializers.Serializer):
    name = serializers.CharField()


class ImageSerializer(serializers.Serializer):
    build_source = BuildSourceReadSerializer(allow_null=True)
    storage_size = serializers.IntegerField(
        required=False,
        help_text="Extension, one image only: bytes its tags' layers take, each counted once.",
    )
    categories = CategorySerializer(many=True)
    description = serializers.CharField()
    icon_url = serializers.CharField()
    in_use = serializers.BooleanField()
    is_private_image = serializers.BooleanField()
    jumpstart = serializers.BooleanField()
    last_build_date = DateField(allow_null=True)
    name = serializers.CharField()
    public_url = serializers.CharField()
    registry = serializers.CharField(help_text="The registry's resource URI.")
    resource_uri = serializers.CharField()
    star_count = serializers.IntegerField()
    state = serializers.ChoiceField(choices=State.choices)
    tags = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Tag resource URIs, in name order; left out with the extension `?tags=none`.",
    )
    tag_count = serializers.IntegerField(help_text="Extension: how many tags it has.")
    pull_tag = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="Extension, one image only: the tag to pull when none is named: latest if "
        "it has one, else its first tag by name; null when it has no tags.",
    )
    team = serializers.CharField(
        allow_null=True, help_text="Extension: the team that owns it; null when a person does."
    )
    permissions = PermissionsSerializer(help_text="Extension: what you may do with it.")


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


TAG_URIS = ("all", "none")


def with_tag_uris(params) -> bool:
    """Extension `?tags=none`: the images without their tag URIs (the web admin shows
    `tag_count` and a page of tags; an image can have 100,000)."""
    wanted = params.get("tags") or "all"
    if wanted not in TAG_URIS:
        raise serializers.ValidationError(
            {"tags": [f"'{wanted}' is not one of: {', '.join(TAG_URIS)}."]}
        )
    return wanted == "all"


def images_json(
    rows: list[dict],
    viewer: Viewer | TokenViewer,
    *,
    tags: bool = True,
    states: dict[int, kept.TagState] | None = None,
) -> tuple[list[dict], list[Kept]]:
    """Images (`IMAGE_FIELDS` rows) with their tag URIs (unless `tags` is False),
    categories and build sources, and what `viewer` may do with each; and the `Kept` tag
    lists among them, for api.core.rendering.mark. `states`: the images' kept.tag_states,
    if the caller has read them."""
    ids = [row["pk"] for row in rows]
    if not ids:
        return [], []
    states = kept.tag_states(ids) if states is None else states
    # The tag URIs of an image with many tags are kept ready (api.images.kept); the
    # others' are made from one query for them all.
    big, small = set(), []
    if tags:
        big = {image_id for image_id, state in states.items() if state.worth_keeping}
        small = [image_id for image_id in ids if image_id in states and image_id not in big]
    tag_rows, category_rows, source_rows = related_rows(ids, small)
    uris: dict[int, list[str] | Kept] = defaultdict(list)
    for image_id, name in tag_rows:
        uris[image_id].append(name)
    for row in rows:
        if row["pk"] in big:
            uris[row["pk"]] = kept.tag_uris(row["pk"], row["name"], states[row["pk"]])
        else:
            uris[row["pk"]] = [formats.tag_uri(row["name"], tag) for tag in uris[row["pk"]]]
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
    objects = [
        _image_json(
            row,
            uris[row["pk"]] if tags else None,
            states.get(row["pk"], kept.NO_TAGS).count,
            categories[row["pk"]],
            sources.get(row["pk"]),
            viewer.abilities(row["owner_id"], row["team_id"], row["is_private_image"]),
        )
        for row in rows
    ]
    return objects, [uris[pk] for pk in big]


def _image_json(
    row: dict,
    tags: list[str] | Kept | None,
    tag_count: int,
    categories: list[dict],
    source: dict | None,
    abilities,
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
    body = {
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
        # Extensions: how many tags, the team that owns it (None: a person), and what the
        # caller may do.
        "tag_count": tag_count,
        "team": row["team__name"],
        "permissions": permissions_json(abilities),
    }
    if tags is not None:
        body["tags"] = tags
    return body


class RegistrySerializer(serializers.Serializer):
    host = serializers.CharField()
    icon_url = serializers.CharField()
    is_ssl = serializers.BooleanField()
    is_tutum_registry = serializers.BooleanField()
    name = serializers.CharField()
    port = serializers.IntegerField()
    resource_uri = serializers.CharField()


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


# Request bodies.


class BuildSettingSerializer(serializers.Serializer):
    tag = serializers.CharField(
        max_length=500,
        help_text="A tag name, or the tag's resource URI; responses give the URI.",
    )
    branch = serializers.CharField(max_length=255)
    dockerfile = serializers.CharField(max_length=500, default="/")
    autobuild = serializers.BooleanField(default=False)

    def validate_tag(self, value: str) -> str:
        # Clients may send the tag's URI, as the API returns it.
        match = re.fullmatch(r"/api/v1/image/.+/tag/([^/]+)/", value)
        tag = match.group(1) if match else value
        try:
            names.validate_tag(tag)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages[0]) from error
        return tag

    def validate_branch(self, value: str) -> str:
        value = value.strip()
        if (
            not value
            or value.startswith(("-", "/"))
            or value.endswith((".lock", "/", "."))
            or ".." in value
            or "//" in value
            or "@{" in value
            or re.search(r"[\x00-\x20~^:?*\[\\\x7f]", value)
        ):
            raise serializers.ValidationError(f"'{value}' is not a valid git branch name.")
        return value

    def validate_dockerfile(self, value: str) -> str:
        path = "/" + value.strip().strip("/")
        if ".." in path.split("/") or "\x00" in path:
            raise serializers.ValidationError(
                "The Dockerfile path must stay inside the repository (no '..')."
            )
        return path


_GITHUB_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class BuildSourceSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=BuildSource.Type.choices, default=BuildSource.Type.GITHUB
    )
    owner = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="The GitHub account; default: the image's namespace (`<host>/acme/web` → acme).",
    )
    repository = serializers.CharField(max_length=100)
    autotests = serializers.ChoiceField(
        choices=BuildSource.Autotests.choices, default=BuildSource.Autotests.OFF
    )
    build_settings = BuildSettingSerializer(many=True, default=list)
    access_token = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="Token for a private repository; omit to keep the stored one, '' to forget it.",
    )

    def _validate_github_name(self, value: str, what: str) -> str:
        if not _GITHUB_NAME.fullmatch(value) or value in {".", ".."}:
            raise serializers.ValidationError(
                f"A repository {what} uses letters, digits, '-', '_' and '.' only."
            )
        return value

    def validate_owner(self, value: str) -> str:
        return self._validate_github_name(value, "owner") if value else ""

    def validate_repository(self, value: str) -> str:
        value = value.removesuffix(".git")
        return self._validate_github_name(value, "name")

    def validate_build_settings(self, value: list[dict]) -> list[dict]:
        seen = set()
        for setting in value:
            if setting["tag"] in seen:
                raise serializers.ValidationError(
                    f"Tag '{setting['tag']}' has two build settings; each tag can have one."
                )
            seen.add(setting["tag"])
        return value


def _is_empty_build_source(value) -> bool:
    """A build source naming no repository, owner or build setting is no build source."""
    fields = ("repository", "owner", "build_settings")
    return isinstance(value, dict) and all(value.get(field) in (None, "", []) for field in fields)


class ImageWriteSerializer(StrictSerializer):
    """The body of POST (all fields) and PATCH (all but `name`) on /api/v1/image/."""

    name = serializers.CharField(max_length=300)
    username = serializers.CharField(max_length=255, required=False, allow_blank=True)
    password = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    is_private_image = serializers.BooleanField(required=False)
    build_source = BuildSourceSerializer(required=False, allow_null=True)
    team = serializers.CharField(
        max_length=30,
        required=False,
        allow_blank=True,
        help_text=(
            "Extension: the team that will own an image on another registry (you must be one "
            "of its Writers). On our registry the namespace names the owner."
        ),
    )

    def validate_name(self, value: str) -> str:
        try:
            names.validate_image_name(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages[0]) from error
        return value

    def to_internal_value(self, data):
        if isinstance(data, dict) and _is_empty_build_source(data.get("build_source")):
            # go-tutum 0.17 sends {"build_settings": null, "repository": ""} on every create.
            data = {**data, "build_source": None}
        return super().to_internal_value(data)


class ImagePatchSerializer(ImageWriteSerializer):
    name = None
    team = None
