"""What registries serve, read: the manifest media types, image configs into Tutum's layer
fields (and ours: history, platforms, sizes), and manifests kept byte for byte.

Pure functions of what was read; the requests are registry.client's.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
LIST_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST))


@dataclass(frozen=True)
class ImageConfig:
    """The layer fields of Tutum's tag, read from an image config and its manifest."""

    docker_id: str
    author: str
    created: datetime | None
    entrypoint: str
    run_command: str
    envvars: list[dict]
    labels: list[dict]
    ports: list[dict]
    volumes: list[dict]
    size: int  # the compressed layers, as the manifest lists them
    os: str = ""
    architecture: str = ""
    variant: str = ""
    # The manifest's layers in order: {digest, size, media_type}.
    layers: list[dict] = field(default_factory=list)
    # The config's build steps: {created (ISO 8601, UTC, or None), created_by, comment,
    # empty_layer, size (of the step's layer; 0 for an empty step, None if none matches)}.
    history: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class ManifestInfo:
    digest: str
    media_type: str
    config: ImageConfig
    platform_digest: str = ""
    # What a pull of this tag downloads: the config and the layers of the (chosen) image.
    size: int = 0
    # An index's images: {os, architecture, variant, digest, size}; [] for a single image.
    platforms: list[dict] = field(default_factory=list)


def check_digest(content: bytes, digest: str) -> bool:
    """Whether `content` hashes to `digest` (`sha256:<hex>` or `sha512:<hex>`)."""
    algorithm, _, expected = digest.partition(":")
    if algorithm not in ("sha256", "sha512") or not expected:
        return False
    return hashlib.new(algorithm, content).hexdigest() == expected.lower()


def _parse_created(value: str | None) -> datetime | None:
    if not value:
        return None
    # RFC 3339 with up to nanoseconds; Python reads at most microseconds.
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", value)
    if not match:
        return None
    base, fraction, zone = match.groups()
    fraction = (fraction or ".0")[:7]
    zone = "+00:00" if zone in (None, "Z") else zone
    try:
        return datetime.fromisoformat(f"{base}{fraction}{zone}").astimezone(UTC)
    except ValueError:
        return None


def _command(value) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        return value
    return shlex.join(str(part) for part in value)


def _port(spec: str) -> dict:
    number, _, protocol = spec.partition("/")
    return {"port": int(number) if number.isdigit() else number, "protocol": protocol or "tcp"}


def layers_of(manifest: dict) -> list[dict]:
    return [
        {
            "digest": str(layer.get("digest") or ""),
            "size": int(layer.get("size") or 0),
            "media_type": str(layer.get("mediaType") or ""),
        }
        for layer in manifest.get("layers") or []
    ]


def _history(body: dict, layers: list[dict]) -> list[dict]:
    """The config's history, each step with the size of its layer.

    Steps that made a layer (not `empty_layer`) match the manifest's layers in order, which
    is how Docker Hub's "Image layers" view sizes them.
    """
    sizes = iter(layer["size"] for layer in layers)
    steps = []
    for entry in body.get("history") or []:
        if not isinstance(entry, dict):
            continue
        empty = bool(entry.get("empty_layer"))
        created = _parse_created(entry.get("created"))
        steps.append(
            {
                "created": created.isoformat() if created else None,
                "created_by": str(entry.get("created_by") or ""),
                "comment": str(entry.get("comment") or ""),
                "empty_layer": empty,
                "size": 0 if empty else next(sizes, None),
            }
        )
    return steps


def parse_config(digest: str, body: dict, layers: list[dict]) -> ImageConfig:
    """Tutum's layer fields (and ours) from an OCI or Docker image config and the manifest's
    `layers` (see layers_of)."""
    config = body.get("config") or body.get("container_config") or {}
    env = []
    for item in config.get("Env") or []:
        key, _, value = item.partition("=")
        env.append({"key": key, "value": value})
    labels = [{"key": k, "value": str(v)} for k, v in sorted((config.get("Labels") or {}).items())]
    ports = sorted(
        (_port(spec) for spec in config.get("ExposedPorts") or {}),
        key=lambda p: (str(p["port"]).zfill(6), p["protocol"]),
    )
    volumes = [{"container_path": path} for path in sorted(config.get("Volumes") or {})]
    return ImageConfig(
        docker_id=digest.removeprefix("sha256:"),
        author=body.get("author") or "",
        created=_parse_created(body.get("created")),
        entrypoint=_command(config.get("Entrypoint")),
        run_command=_command(config.get("Cmd")),
        envvars=env,
        labels=labels,
        ports=ports,
        volumes=volumes,
        size=sum(layer["size"] for layer in layers),
        os=str(body.get("os") or ""),
        architecture=str(body.get("architecture") or ""),
        variant=str(body.get("variant") or ""),
        layers=layers,
        history=_history(body, layers),
    )


@dataclass(frozen=True)
class RawManifest:
    digest: str
    media_type: str
    content: bytes
    body: dict

    @property
    def is_index(self) -> bool:
        return self.media_type in LIST_TYPES or "manifests" in self.body

    def children(self) -> list[str]:
        """An index's manifests (attestations too: they are part of what was pushed)."""
        return [
            entry["digest"]
            for entry in self.body.get("manifests") or []
            if isinstance(entry, dict) and entry.get("digest")
        ]

    def blobs(self) -> list[str]:
        """An image manifest's config and layers."""
        config = (self.body.get("config") or {}).get("digest")
        return ([config] if config else []) + [
            layer["digest"] for layer in layers_of(self.body) if layer["digest"]
        ]


def pulled_size(manifest: dict) -> int:
    """The bytes a pull of one image manifest downloads: its config and its layers
    (compressed), not the manifest itself."""
    config = manifest.get("config") or {}
    return int(config.get("size") or 0) + sum(layer["size"] for layer in layers_of(manifest))


def images_of(manifests: list[dict]) -> list[dict]:
    """An index's entries that are images to run: not the attestations (SBOM, provenance)
    that BuildKit adds as `unknown/unknown` entries."""
    return [
        entry
        for entry in manifests
        if isinstance(entry, dict)
        and entry.get("digest")
        and (entry.get("annotations") or {}).get("vnd.docker.reference.type")
        != "attestation-manifest"
    ]
