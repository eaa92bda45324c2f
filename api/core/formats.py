"""Resource URIs and dates in Tutum's formats."""

from __future__ import annotations

from datetime import UTC, datetime

API_PREFIX = "/api/v1"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def image_uri(name: str) -> str:
    return f"{API_PREFIX}/image/{name}/"


def tag_uri(image_name: str, tag: str) -> str:
    return f"{API_PREFIX}/image/{image_name}/tag/{tag}/"


def layer_uri(docker_id: str) -> str:
    return f"{API_PREFIX}/layer/{docker_id}/"


def registry_uri(host: str) -> str:
    return f"{API_PREFIX}/registry/{host}/"


def rfc2822(value: datetime | None) -> str | None:
    """`Fri, 8 Nov 2013 00:22:26 +0000`: UTC, unpadded day, English names whatever the locale."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return (
        f"{_DAYS[value.weekday()]}, {value.day} {_MONTHS[value.month - 1]} {value.year} "
        f"{value:%H:%M:%S} +0000"
    )


def build_uri(uuid) -> str:
    return f"{API_PREFIX}/build/{uuid}/"


def webhook_uri(image_name: str) -> str:
    return f"{API_PREFIX}/hooks/github/{image_name}/"


def apikey_uri(key_id: int) -> str:
    return f"{API_PREFIX}/apikey/{key_id}/"
