"""Command lines the admin shows people, with their own names and keys in them."""

from __future__ import annotations

from images.services import images as image_service


def tls_flag(registry: image_service.Registry) -> str:
    """buildah and podman refuse plain HTTP unless told."""
    return "" if registry.is_ssl else " --tls-verify=false"


def registry_logins(user: str, key: str, registry: image_service.Registry) -> dict[str, str]:
    """How to log in to `registry` with an API key, with Docker and with buildah/podman."""
    host = registry.host
    return {
        "docker": f"echo '{key}' | docker login -u {user} --password-stdin {host}",
        "buildah": f"buildah login{tls_flag(registry)} -u {user} -p {key} {host}",
    }
