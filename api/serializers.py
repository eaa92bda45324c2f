"""Representations (read) and validation (write) of the Tutum resources."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api import names, uris
from api.models import BuildSource, Image, Layer, Registry, Tag

ICON_URL = "/static/img/docker.svg"


class Rfc2822Field(serializers.Field):
    """Read-only RFC 2822 date: `Fri, 8 Nov 2013 00:22:26 +0000`."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return uris.rfc2822(value)


extend_schema_field(
    {"type": "string", "nullable": True, "example": "Fri, 8 Nov 2013 00:22:26 +0000"}
)(Rfc2822Field)


class KeyValueSerializer(serializers.Serializer):
    key = serializers.CharField()
    value = serializers.CharField(allow_blank=True)


class PortSerializer(serializers.Serializer):
    port = serializers.IntegerField()
    protocol = serializers.CharField()


class VolumeSerializer(serializers.Serializer):
    container_path = serializers.CharField()


class LayerSerializer(serializers.ModelSerializer):
    creation = Rfc2822Field()
    envvars = KeyValueSerializer(many=True)
    labels = KeyValueSerializer(many=True)
    ports = PortSerializer(many=True)
    volumes = VolumeSerializer(many=True)
    resource_uri = serializers.SerializerMethodField()

    class Meta:
        model = Layer
        fields = [
            "author",
            "creation",
            "docker_id",
            "entrypoint",
            "envvars",
            "labels",
            "ports",
            "resource_uri",
            "run_command",
            "volumes",
        ]
        read_only_fields = fields

    def get_resource_uri(self, layer: Layer) -> str:
        return uris.layer_uri(layer.docker_id)


class TagSerializer(serializers.ModelSerializer):
    """A tag; the view passes `buildable_tags` (the image's build-setting tags) in the context."""

    buildable = serializers.SerializerMethodField()
    full_name = serializers.SerializerMethodField()
    image = serializers.SerializerMethodField()
    layer = LayerSerializer(allow_null=True)
    resource_uri = serializers.SerializerMethodField()

    class Meta:
        model = Tag
        fields = ["buildable", "full_name", "image", "layer", "name", "resource_uri", "state"]
        read_only_fields = fields

    def get_buildable(self, tag: Tag) -> bool:
        return tag.name in self.context["buildable_tags"]

    def get_full_name(self, tag: Tag) -> str:
        return f"{tag.image.name}:{tag.name}"

    def get_image(self, tag: Tag) -> str:
        return uris.image_uri(tag.image.name)

    def get_resource_uri(self, tag: Tag) -> str:
        return uris.tag_uri(tag.image.name, tag.name)


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

    def to_representation(self, setting):
        image_name = self.context["image_name"]
        return {
            "autobuild": setting.autobuild,
            "branch": setting.branch,
            "dockerfile": setting.dockerfile,
            "tag": uris.tag_uri(image_name, setting.tag),
        }


_GITHUB_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class BuildSourceSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=BuildSource.Type.choices, default=BuildSource.Type.GITHUB
    )
    owner = serializers.CharField(max_length=100)
    repository = serializers.CharField(max_length=100)
    autotests = serializers.ChoiceField(
        choices=BuildSource.Autotests.choices, default=BuildSource.Autotests.OFF
    )
    build_settings = BuildSettingSerializer(many=True, default=list)

    def _validate_github_name(self, value: str, what: str) -> str:
        if not _GITHUB_NAME.fullmatch(value) or value in {".", ".."}:
            raise serializers.ValidationError(
                f"A repository {what} uses letters, digits, '-', '_' and '.' only."
            )
        return value

    def validate_owner(self, value: str) -> str:
        return self._validate_github_name(value, "owner")

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

    def to_representation(self, source: BuildSource):
        settings = BuildSettingSerializer(
            source.build_settings.all(), many=True, context=self.context
        ).data
        return {
            "autotests": source.autotests,
            "build_settings": settings,
            "owner": source.owner,
            "repository": source.repository,
            "type": source.type,
        }


class CategorySerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)


class ImageSerializer(serializers.ModelSerializer):
    build_source = serializers.SerializerMethodField()
    categories = CategorySerializer(many=True, read_only=True)
    registry = serializers.SerializerMethodField()
    icon_url = serializers.SerializerMethodField()
    in_use = serializers.SerializerMethodField()
    last_build_date = Rfc2822Field()
    resource_uri = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Image
        fields = [
            "build_source",
            "categories",
            "description",
            "icon_url",
            "in_use",
            "is_private_image",
            "jumpstart",
            "last_build_date",
            "name",
            "public_url",
            "registry",
            "resource_uri",
            "star_count",
            "state",
            "tags",
        ]
        read_only_fields = fields

    @extend_schema_field(BuildSourceSerializer(allow_null=True))
    def get_build_source(self, image: Image):
        try:
            source = image.build_source
        except BuildSource.DoesNotExist:
            return None
        return BuildSourceSerializer(source, context={"image_name": image.name}).data

    def get_registry(self, image: Image) -> str:
        return uris.registry_uri(image.registry.host)

    def get_icon_url(self, image: Image) -> str:
        return ICON_URL

    def get_in_use(self, image: Image) -> bool:
        # No services run here, so no image is ever in use by one.
        return False

    def get_resource_uri(self, image: Image) -> str:
        return uris.image_uri(image.name)

    @extend_schema_field({"type": "array", "items": {"type": "string"}})
    def get_tags(self, image: Image) -> list[str]:
        return [uris.tag_uri(image.name, tag.name) for tag in image.tags.all()]


class ImageWriteSerializer(serializers.Serializer):
    """The body of POST (all fields) and PATCH (all but `name`) on /api/v1/image/."""

    name = serializers.CharField(max_length=300)
    username = serializers.CharField(max_length=255, required=False, allow_blank=True)
    password = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    is_private_image = serializers.BooleanField(required=False)
    build_source = BuildSourceSerializer(required=False, allow_null=True)

    def validate_name(self, value: str) -> str:
        try:
            names.validate_image_name(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages[0]) from error
        return value

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        field: ["Unknown field; this endpoint does not accept it."]
                        for field in unknown
                    }
                )
        return super().to_internal_value(data)


class ImagePatchSerializer(ImageWriteSerializer):
    name = None


class AuthKeySerializer(serializers.Serializer):
    key = serializers.CharField()
    username = serializers.CharField()


class RegistrySerializer(serializers.ModelSerializer):
    icon_url = serializers.SerializerMethodField()
    port = serializers.SerializerMethodField()
    resource_uri = serializers.SerializerMethodField()

    class Meta:
        model = Registry
        fields = ["host", "icon_url", "is_ssl", "is_tutum_registry", "name", "port", "resource_uri"]
        read_only_fields = fields

    def get_icon_url(self, registry: Registry) -> str:
        return ICON_URL

    def get_port(self, registry: Registry) -> int:
        _, _, port = registry.host.rpartition(":")
        if port.isdigit():
            return int(port)
        return 443 if registry.is_ssl else 80

    def get_resource_uri(self, registry: Registry) -> str:
        return uris.registry_uri(registry.host)
