"""Where our registry stores images, as one URL (REGISTRY_STORAGE_URL), turned into the
`storage` driver block of CNCF Distribution's config.

- empty: the filesystem under the data directory (`DATA_DIR/registry/storage`): None;
- `file:///srv/registry`: the filesystem at that absolute path (a shared mount, say);
- `s3://ACCESS_KEY:SECRET_KEY@host:port/bucket?region=us-east-1&secure=false&rootdirectory=/x`:
  S3-compatible storage at that endpoint (MinIO, SeaweedFS, Ceph: path-style requests), or
  AWS S3 itself with the host left out (`s3://ACCESS_KEY:SECRET_KEY@/bucket?region=eu-west-1`).
  Keys are percent-encoded (`/` in a secret key is `%2F`); without them the registry uses the
  machine's role (AWS instance profile).

Messages say which part breaks which rule and never repeat the URL: it holds a secret.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

# S3's bucket naming rules (the common subset every implementation accepts).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z0-9-]{1,64}")
_ROOT_DIRECTORY = re.compile(r"(/[A-Za-z0-9._-]+)+")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
S3_OPTIONS = ("region", "secure", "rootdirectory")


class StorageUrlError(ValueError):
    """The URL breaks a rule; the message names the rule, never the URL's secret."""


def filesystem(directory: Path) -> dict:
    return {"filesystem": {"rootdirectory": str(directory)}}


def parse_storage_url(url: str) -> dict | None:
    """The `storage` driver block for `url` (see the module's docstring); None when empty."""
    url = url.strip()
    if not url:
        return None
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "file":
        return _file(url)
    if scheme == "s3":
        return {"s3": _s3(url)}
    raise StorageUrlError(
        "must start with s3:// (S3-compatible storage) or file:// (a directory), or be empty "
        "(the data directory)"
    )


def _file(url: str) -> dict:
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith("/") or parts.query or parts.fragment:
        raise StorageUrlError("a file:// URL names an absolute directory: file:///srv/registry")
    return filesystem(Path(unquote(parts.path)))


def _s3(url: str) -> dict:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise StorageUrlError("the port after the host must be a number from 1 to 65535") from None
    if parts.fragment:
        raise StorageUrlError("takes no #fragment")
    bucket = parts.path.strip("/")
    if not _BUCKET.fullmatch(bucket):
        raise StorageUrlError(
            "the path must be the bucket's name: 3 to 63 lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit (s3://KEY:SECRET@host:port/bucket)"
        )
    options = _options(parts.query)
    block: dict = {"bucket": bucket}
    username, password = parts.username, parts.password
    if bool(username) != bool(password):
        raise StorageUrlError(
            "give both keys as ACCESS_KEY:SECRET_KEY before the '@', or neither (the machine's "
            "role)"
        )
    if username:
        block["accesskey"], block["secretkey"] = unquote(username), unquote(password)
    secure = _boolean(options, "secure", True)
    host = parts.hostname
    if host:
        # Anything but AWS itself: an endpoint of its own, addressed by path (MinIO, SeaweedFS
        # and Ceph serve buckets under the path, not as host names).
        endpoint_host = f"[{host}]" if ":" in host else host
        block["regionendpoint"] = f"{'https' if secure else 'http'}://{endpoint_host}" + (
            f":{port}" if port else ""
        )
        block["forcepathstyle"] = True
    elif port:
        raise StorageUrlError("a port needs a host before it (leave both out for AWS S3)")
    elif "region" not in options:
        raise StorageUrlError("AWS S3 (no host) needs its region: ?region=eu-west-1")
    region = options.get("region", "us-east-1")
    if not _REGION.fullmatch(region):
        raise StorageUrlError("region must be a region name such as us-east-1")
    block.update(region=region, secure=secure, v4auth=True)
    if "rootdirectory" in options:
        root = options["rootdirectory"].rstrip("/") or "/"
        if root != "/" and not _ROOT_DIRECTORY.fullmatch(root):
            raise StorageUrlError(
                "rootdirectory must be a path such as /registry: '/' and letters, digits, '.', "
                "'_' and '-'"
            )
        if ".." in root.split("/"):
            raise StorageUrlError("rootdirectory must not contain '..'")
        block["rootdirectory"] = root
    return block


def _options(query: str) -> dict[str, str]:
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise StorageUrlError(
            "the options after '?' must be name=value pairs joined by '&'"
        ) from None
    unknown = sorted(set(parsed) - set(S3_OPTIONS))
    if unknown:
        raise StorageUrlError(
            f"unknown option {', '.join(unknown)}: the options are {', '.join(S3_OPTIONS)}"
        )
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        raise StorageUrlError(f"option {', '.join(repeated)} given more than once")
    return {name: values[0] for name, values in parsed.items()}


def _boolean(options: dict[str, str], name: str, default: bool) -> bool:
    if name not in options:
        return default
    value = _BOOLEANS.get(options[name].lower())
    if value is None:
        raise StorageUrlError(f"{name} must be true or false")
    return value
