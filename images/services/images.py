"""Images, their tags and layers, and the registries they live on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from images.services.http import (
    PAGE_SIZE,
    Credentials,
    Page,
    call,
    listed,
    page,
    parse_date,
    parse_size,
)


def quote_name(name: str) -> str:
    # Image names go raw into the path (slashes and host:port), as Tutum's clients send them.
    return quote(name, safe="/:")


def image_path(name: str, rest: str = "") -> str:
    return f"/api/v1/image/{quote_name(name)}/{rest}"


def tag_path(name: str, tag: str, rest: str = "") -> str:
    return image_path(name, f"tag/{quote(tag, safe='')}/{rest}")


def short_digest(digest: str) -> str:
    """`sha256:` and the first 12 hex digits, as registries and Docker Hub shorten them."""
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:12]}" if hex_part else digest[:12]


def _permitted(data: dict, ability: str) -> bool:
    return bool((data.get("permissions") or {}).get(ability, True))


def _tag_name_from_uri(uri: str) -> str:
    return uri.rstrip("/").rsplit("/tag/", 1)[-1]


@dataclass(frozen=True)
class Port:
    port: int
    protocol: str


def _port(data: dict) -> Port:
    return Port(port=int(data["port"]), protocol=data.get("protocol", "tcp"))


@dataclass(frozen=True)
class Blob:
    """One of an image's layers as its manifest lists it."""

    digest: str
    size: int | None
    media_type: str

    @property
    def short_digest(self) -> str:
        return short_digest(self.digest)


def _blob(data: dict) -> Blob:
    return Blob(
        digest=str(data.get("digest") or ""),
        size=parse_size(data.get("size")),
        media_type=str(data.get("media_type") or ""),
    )


@dataclass(frozen=True)
class BuildStep:
    """One entry of the image config's history; `size` is its layer's (0: none made). Its
    time is left out: the page does not show it, and tag lists carry every tag's steps."""

    created_by: str
    comment: str
    empty_layer: bool
    size: int | None


def _build_step(data: dict) -> BuildStep:
    return BuildStep(
        created_by=str(data.get("created_by") or ""),
        comment=str(data.get("comment") or ""),
        empty_layer=bool(data.get("empty_layer")),
        size=parse_size(data.get("size")),
    )


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str
    digest: str
    size: int | None

    @property
    def name(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)

    @property
    def short_digest(self) -> str:
        return short_digest(self.digest)


def _platform(data: dict) -> Platform:
    return Platform(
        os=str(data.get("os") or ""),
        architecture=str(data.get("architecture") or ""),
        variant=str(data.get("variant") or ""),
        digest=str(data.get("digest") or ""),
        size=parse_size(data.get("size")),
    )


@dataclass(frozen=True)
class Layer:
    docker_id: str
    author: str
    created: datetime | None
    entrypoint: str
    run_command: str
    envvars: list[tuple[str, str]]
    labels: list[tuple[str, str]]
    ports: list[Port]
    volumes: list[str]
    # Our API's extensions; another Tutum server sends none.
    layers: list[Blob] = field(default_factory=list)
    history: list[BuildStep] = field(default_factory=list)

    @property
    def short_id(self) -> str:
        return self.docker_id[:12]


def _layer(data: dict | None) -> Layer | None:
    if not data:
        return None
    return Layer(
        docker_id=data.get("docker_id", ""),
        author=data.get("author", ""),
        created=parse_date(data.get("creation")),
        entrypoint=data.get("entrypoint", ""),
        run_command=data.get("run_command", ""),
        envvars=[(e["key"], e.get("value", "")) for e in data.get("envvars") or []],
        labels=[(e["key"], e.get("value", "")) for e in data.get("labels") or []],
        ports=[_port(p) for p in data.get("ports") or []],
        volumes=[v["container_path"] for v in data.get("volumes") or []],
        layers=[_blob(b) for b in data.get("layers") or []],
        history=[_build_step(h) for h in data.get("history") or []],
    )


@dataclass(frozen=True)
class Tag:
    name: str
    full_name: str
    state: str
    buildable: bool
    layer: Layer | None
    can_write: bool = True  # see Image.can_write
    # Our API's extensions, as the registry served the tag; another Tutum server sends none.
    digest: str = ""
    size: int | None = None
    os: str = ""
    architecture: str = ""
    variant: str = ""
    platforms: list[Platform] = field(default_factory=list)
    pushed_by: str = ""
    pushed_at: datetime | None = None
    last_pulled: datetime | None = None

    @property
    def platform(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)


def _tag(data: dict) -> Tag:
    return Tag(
        name=data["name"],
        full_name=data.get("full_name", ""),
        state=data.get("state") or "Empty",
        buildable=bool(data.get("buildable")),
        layer=_layer(data.get("layer")),
        can_write=_permitted(data, "write"),
        digest=str(data.get("digest") or ""),
        size=parse_size(data.get("size")),
        os=str(data.get("os") or ""),
        architecture=str(data.get("architecture") or ""),
        variant=str(data.get("variant") or ""),
        platforms=[_platform(p) for p in data.get("platforms") or []],
        pushed_by=str(data.get("pushed_by") or ""),
        pushed_at=parse_date(data.get("pushed_at")),
        last_pulled=parse_date(data.get("last_pulled")),
    )


@dataclass(frozen=True)
class BuildSetting:
    tag: str
    branch: str
    dockerfile: str
    autobuild: bool


def _build_setting(data: dict) -> BuildSetting:
    return BuildSetting(
        tag=_tag_name_from_uri(data["tag"]),
        branch=data.get("branch", ""),
        dockerfile=data.get("dockerfile", "/"),
        autobuild=bool(data.get("autobuild")),
    )


@dataclass(frozen=True)
class BuildSource:
    type: str
    owner: str
    repository: str
    autotests: str
    build_settings: list[BuildSetting]
    has_access_token: bool = False


def _build_source(data: dict | None) -> BuildSource | None:
    if not data:
        return None
    return BuildSource(
        type=data.get("type", "GITHUB"),
        owner=data.get("owner", ""),
        repository=data.get("repository", ""),
        autotests=data.get("autotests", "OFF"),
        build_settings=[_build_setting(s) for s in data.get("build_settings") or []],
        has_access_token=bool(data.get("has_access_token")),
    )


@dataclass(frozen=True)
class Image:
    name: str
    description: str
    state: str
    is_private: bool
    jumpstart: bool
    registry_host: str
    last_build_date: datetime | None
    tag_count: int
    # The tag a pull command names: latest if it has it, else its first by name (None: no tags).
    pull_tag: str | None
    categories: list[str]
    build_source: BuildSource | None
    team: str | None = None
    # What the signed-in person may do. Another Tutum server does not say: show everything
    # and let it refuse.
    can_write: bool = True
    can_manage: bool = True
    # Our API's extension, on one image: its layers' bytes, each counted once.
    storage_size: int | None = None


def _image(data: dict) -> Image:
    # Our API leaves the tag URIs out when asked (`tags=none`) and says `tag_count` and
    # `pull_tag` instead; another Tutum server sends every URI.
    names = sorted(_tag_name_from_uri(uri) for uri in data.get("tags") or [])
    tag_count = data.get("tag_count")
    pull_tag = data.get("pull_tag") if "pull_tag" in data else None
    if "pull_tag" not in data and names:
        pull_tag = "latest" if "latest" in names else names[0]
    return Image(
        name=data["name"],
        description=data.get("description") or "",
        state=data.get("state") or "Empty",
        is_private=bool(data.get("is_private_image")),
        jumpstart=bool(data.get("jumpstart")),
        registry_host=(data.get("registry") or "").rstrip("/").rsplit("/", 1)[-1],
        last_build_date=parse_date(data.get("last_build_date")),
        tag_count=len(names) if tag_count is None else int(tag_count),
        pull_tag=pull_tag,
        categories=[c["name"] for c in data.get("categories") or []],
        build_source=_build_source(data.get("build_source")),
        team=data.get("team"),
        can_write=_permitted(data, "write"),
        can_manage=_permitted(data, "manage"),
        storage_size=parse_size(data.get("storage_size")),
    )


@dataclass(frozen=True)
class Registry:
    host: str
    name: str
    is_ours: bool = False
    is_ssl: bool = True


def _registry(data: dict) -> Registry:
    return Registry(
        host=data["host"],
        name=data.get("name", data["host"]),
        is_ours=bool(data.get("is_tutum_registry")),
        is_ssl=bool(data.get("is_ssl", True)),
    )


def _keyed_params(params: dict, search_key: str, search: str, order: str, after: str, before: str):
    """The list parameters images and tags share: a search, an order, and the name to page
    on from (`after`/`before`, which find the page in the name index where a deep offset
    would read every row before it)."""
    if search:
        params[search_key] = search
    if order:
        params["order_by"] = order
    if after:
        params["after"] = after
    elif before:
        params["before"] = before
    return params


def list_images(
    creds: Credentials,
    *,
    search: str = "",
    filters: dict[str, str] | None = None,
    order: str = "",
    offset: int = 0,
    limit: int = PAGE_SIZE,
    after: str = "",
    before: str = "",
) -> Page[Image]:
    """A page of images; `after`/`before` an image's name (in name order) finds the page in
    the name index where a deep `offset` would read every image before it."""
    # No tag URIs: the list shows how many (an image may have 100,000).
    params = {"limit": limit, "offset": offset, "tags": "none", **(filters or {})}
    params = _keyed_params(params, "name__icontains", search, order, after, before)
    body = call("GET", "/api/v1/image/", creds=creds, params=params)
    return page(body, _image, keyed=bool(after or before))


def get_image(creds: Credentials, name: str) -> Image:
    """The image without its tag URIs (`tag_count` says how many; list_tags pages them)."""
    return _image(call("GET", image_path(name), creds=creds, params={"tags": "none"}))


def register_image(creds: Credentials, data: dict) -> Image:
    return _image(call("POST", "/api/v1/image/", creds=creds, json=data))


def update_image(creds: Credentials, name: str, data: dict) -> Image:
    return _image(call("PATCH", image_path(name), creds=creds, json=data))


def delete_image(creds: Credentials, name: str) -> None:
    call("DELETE", image_path(name), creds=creds)


def list_tags(
    creds: Credentials,
    name: str,
    *,
    search: str = "",
    order: str = "",
    offset: int = 0,
    limit: int = PAGE_SIZE,
    after: str = "",
    before: str = "",
) -> Page[Tag]:
    """A page of an image's tags; `after`/`before` a tag's name (in name order), as
    list_images."""
    params = _keyed_params({"limit": limit, "offset": offset}, "name", search, order, after, before)
    body = call("GET", image_path(name, "tag/"), creds=creds, params=params)
    return page(body, _tag, keyed=bool(after or before))


def get_tag(creds: Credentials, name: str, tag: str) -> Tag:
    return _tag(call("GET", tag_path(name, tag), creds=creds))


def list_registries(creds: Credentials) -> list[Registry]:
    return listed("/api/v1/registry/", _registry, creds=creds, limit=0)


def our_registry(creds: Credentials) -> Registry | None:
    """This installation's own registry, where people push; None if it has none."""
    return next((r for r in list_registries(creds) if r.is_ours), None)
