"""The Registry row of each registry host an image name can point at."""

from __future__ import annotations

from django.conf import settings

from records.models import Registry
from registry import client as oci
from registry import names


def registry_for_host(host: str) -> Registry:
    """The Registry row for `host`, created on first use."""
    ours = host == settings.REGISTRY_HOST
    public = host == settings.PUBLIC_REGISTRY_HOST
    base_url = oci.registry_base_url(host)
    registry, _ = Registry.objects.get_or_create(
        host=host,
        defaults={
            "name": "This installation's registry" if ours else "Docker Hub" if public else host,
            "is_tutum_registry": ours,
            "is_ssl": base_url.startswith("https://"),
        },
    )
    return registry


def host_of(name: str) -> str:
    host, _ = names.split_name(name)
    return host or settings.PUBLIC_REGISTRY_HOST
