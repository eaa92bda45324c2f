"""The Docker reference grammar for image names and tags, with errors that name the rule."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

MAX_NAME_LENGTH = 255
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]{{1,5}})?")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

NAME_RULE = (
    "Use lowercase letters, digits and the separators '.', '_', '__' or '-' between them, "
    "in path components separated by '/', optionally after a registry host such as "
    "'registry.example.com:5000/'."
)
TAG_RULE = "A tag is 1 to 128 letters, digits, '_', '.' or '-', and cannot start with '.' or '-'."


def split_name(name: str) -> tuple[str | None, str]:
    """Split `host[:port]/path` into (host, path); names without a registry host give None.

    As in Docker, the first component is a host when it has a '.' or ':' or is 'localhost'.
    """
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return None, name


def validate_image_name(name: str) -> None:
    if not name:
        raise ValidationError("An image name is required.")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"An image name is at most {MAX_NAME_LENGTH} characters.")
    host, path = split_name(name)
    if host is not None and not _DOMAIN.fullmatch(host):
        raise ValidationError(f"'{host}' is not a valid registry host. {NAME_RULE}")
    components = path.split("/")
    for component in components:
        if not component:
            raise ValidationError(f"The name has an empty path component. {NAME_RULE}")
        if component != component.lower():
            raise ValidationError(f"Image names must be lowercase ('{component}'). {NAME_RULE}")
        if not _PATH_COMPONENT.fullmatch(component):
            raise ValidationError(f"'{component}' is not a valid name component. {NAME_RULE}")


def is_repository_path(path: str) -> bool:
    """Whether `path` is a repository name as the registry stores it (no host): lowercase
    components joined by single slashes. Nothing like `a/../b` or `a//b`, which a registry
    might clean into another repository than the one checked."""
    return 0 < len(path) <= MAX_NAME_LENGTH and all(
        _PATH_COMPONENT.fullmatch(component) for component in path.split("/")
    )


def validate_tag(tag: str) -> None:
    if not TAG_RE.fullmatch(tag or ""):
        raise ValidationError(f"'{tag}' is not a valid tag. {TAG_RULE}")


# The recycle bin's hidden repositories (lifecycle.bin): `__` is a valid separator for the
# registry but not in usernames or team names, so no namespace of ours can be this.
BIN_NAMESPACE = "recycle__bin"
