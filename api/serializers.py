"""Representations (read) and validation (write) of the Tutum resources."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from api.core.shapes import DATE, DateField, KeyValueSerializer, StrictSerializer  # noqa: F401
from records.models import BuildSource, State
from registry import names


class PortSerializer(serializers.Serializer):
    port = serializers.IntegerField()
    protocol = serializers.CharField()


class VolumeSerializer(serializers.Serializer):
    container_path = serializers.CharField()


# Read representations (built in representations.py), declared here for the OpenAPI schema.


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


class PlatformSerializer(serializers.Serializer):
    os = serializers.CharField()
    architecture = serializers.CharField()
    variant = serializers.CharField()
    digest = serializers.CharField(help_text="The platform's own manifest.")
    size = serializers.IntegerField(
        allow_null=True,
        help_text="Bytes a pull of this platform downloads; null when not read (public images).",
    )


class PermissionsSerializer(serializers.Serializer):
    read = serializers.BooleanField(help_text="See and pull it.")
    write = serializers.BooleanField(help_text="Edit, build, push, delete tags.")
    manage = serializers.BooleanField(help_text="Delete it, change who can see it.")


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
    tags = serializers.ListField(child=serializers.CharField(), help_text="Tag resource URIs.")
    team = serializers.CharField(
        allow_null=True, help_text="Extension: the team that owns it; null when a person does."
    )
    permissions = PermissionsSerializer(help_text="Extension: what you may do with it.")


class RegistrySerializer(serializers.Serializer):
    host = serializers.CharField()
    icon_url = serializers.CharField()
    is_ssl = serializers.BooleanField()
    is_tutum_registry = serializers.BooleanField()
    name = serializers.CharField()
    port = serializers.IntegerField()
    resource_uri = serializers.CharField()


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


class AuthKeySerializer(serializers.Serializer):
    key = serializers.CharField()
    username = serializers.CharField()


class BuildSerializer(serializers.Serializer):
    """Read schema of a build (extension: Tutum's API had no build records)."""

    uuid = serializers.UUIDField()
    resource_uri = serializers.CharField()
    image = serializers.CharField()
    tag = serializers.CharField()
    tag_name = serializers.CharField()
    state = serializers.ChoiceField(
        choices=["Queued", "Building", "Success", "Failed", "Cancelled"]
    )
    trigger = serializers.ChoiceField(choices=["USER", "API", "WEBHOOK"])
    triggered_by = serializers.CharField(allow_null=True)
    branch = serializers.CharField()
    dockerfile = serializers.CharField()
    commit = serializers.CharField(allow_blank=True)
    commit_message = serializers.CharField(allow_blank=True)
    digest = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    created = serializers.CharField()
    started = serializers.CharField(allow_null=True)
    finished = serializers.CharField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    queue_position = serializers.IntegerField(allow_null=True)
    workers_online = serializers.IntegerField()
    log = serializers.CharField()
    log_size = serializers.IntegerField()


class BuildLogSerializer(serializers.Serializer):
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField()
    text = serializers.CharField(allow_blank=True)
    state = serializers.ChoiceField(
        choices=["Queued", "Building", "Success", "Failed", "Cancelled"]
    )
    complete = serializers.BooleanField(help_text="The build has finished and all is read.")


class BuildRequestSerializer(serializers.Serializer):
    trigger = serializers.ChoiceField(
        choices=["USER", "API"], default="API", help_text="USER when a person clicked Build."
    )


class WebhookSerializer(serializers.Serializer):
    url = serializers.CharField()
    secret = serializers.CharField()
    content_type = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
