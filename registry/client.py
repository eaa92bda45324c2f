"""An OCI registry v2 client: manifests and image configs, tags, catalog, credentials checks.

Speaks to our own registry (with tokens the API signs itself), to other registries with
stored credentials (Basic or Bearer token auth), and to the public registry anonymously.
Every failure is a RegistryError whose message says plainly what went wrong. What the
answers mean (media types, image configs, manifests as bytes) is registry.manifests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from time import monotonic
from urllib.parse import urljoin

import requests
from django.conf import settings

from lib import outbound
from registry import storage as registry_storage
from registry.manifests import (
    ACCEPT,
    DOCKER_SCHEMA1,
    LIST_TYPES,
    ManifestInfo,
    RawManifest,
    check_digest,
    images_of,
    layers_of,
    parse_config,
    pulled_size,
)

# The media types and what the client returns, importable from here as well.
from registry.manifests import DOCKER_MANIFEST as DOCKER_MANIFEST
from registry.manifests import OCI_INDEX as OCI_INDEX
from registry.manifests import OCI_MANIFEST as OCI_MANIFEST
from registry.manifests import ImageConfig as ImageConfig
from registry.tokens import service_token

log = logging.getLogger(__name__)

# Refused, timed out, unknown, refused by the outbound policy, not a registry: one sentence for
# all, so that nobody can use this server to map which hosts and ports answer.
UNREACHABLE = (
    "could not reach registry {host}: check the name, and that it is a registry reachable "
    "from this server"
)


class RegistryError(Exception):
    """A registry call failed; the message is a sentence a person can act on."""


class RegistryUnreachable(RegistryError):
    pass


class RegistryAuthError(RegistryError):
    pass


class RegistryNotFound(RegistryError):
    pass


class RegistryProtocolError(RegistryError):
    pass


def registry_base_url(host: str) -> str:
    """Where a registry host is reached: plain HTTP only for the ones listed as insecure (a
    loopback or private host that is not listed is refused by the outbound policy anyway)."""
    if host == settings.REGISTRY_HOST:
        return settings.REGISTRY_URL
    if host == settings.PUBLIC_REGISTRY_HOST:
        return settings.PUBLIC_REGISTRY_URL
    if host in settings.INSECURE_REGISTRIES:
        return f"http://{host}"
    return f"https://{host}"


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="...",service="...",scope="..."` → ("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


class RegistryClient:
    """One registry, one set of credentials; tokens are cached per scope set."""

    def __init__(
        self,
        base_url: str,
        *,
        host: str,
        username: str = "",
        password: str = "",
        token_provider: Callable[[list[str]], str] | None = None,
        timeout: float | None = None,
        page_size: int = 1000,
        trusted: bool = False,
        storage: registry_storage.FilesystemStorage | None = None,
    ):
        """`trusted`: the base URL is the operator's setting (our registry, the public one),
        reached wherever it is; what it redirects to and the token service it names are
        still checked by the outbound policy. `storage`: the registry's storage on this
        machine (our registry's, registry.storage.local_storage): manifests by digest and
        image configs are read there first, without a request."""
        self.page_size = page_size
        self.storage = storage
        self.base_url = base_url.rstrip("/")
        self.host = host
        self.username = username
        self.password = password
        self.token_provider = token_provider
        self.timeout = timeout or settings.REGISTRY_TIMEOUT
        self.trusted = trusted
        self.origin = outbound.origin_of(self.base_url)
        self.session = outbound.session()
        # Scopes → (token, until when to send it): a long run (a sync of thousands of
        # repositories) outlives a token, and the registry then refuses it.
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}

    # -- transport ---------------------------------------------------------------------

    def _send(self, method: str, url: str, headers: dict, **kwargs) -> requests.Response:
        """One request through the outbound policy, its answer read in full. Credentials go
        to the registry's own origin only (`credentials_for` names another, for a token
        service the operator's registry named)."""
        kwargs.setdefault("credentials_for", self.origin)
        try:
            return outbound.send(
                self.session,
                method,
                url,
                headers=headers,
                trusted=[self.origin] if self.trusted else [],
                timeout=self.timeout,
                **kwargs,
            )
        except outbound.TooLarge as error:
            raise RegistryProtocolError(
                f"registry {self.host} sent an answer too large to be a registry's ({error})"
            ) from error
        except outbound.Unreachable as error:
            # The reason is for the operator (a refused port, a denied address); the person
            # gets the one sentence.
            log.info("could not reach registry %s: %s", self.host, error.reason)
            raise self._unreachable() from error

    def check_reachable(self) -> None:
        """Raise the one unreachable sentence unless the outbound policy lets this registry
        be reached: for tools that connect on their own (buildah pushing a build)."""
        if self.trusted:
            return
        try:
            outbound.vetted_addresses(*self.origin)
        except OSError as error:  # refused by the policy, or an unknown name
            log.info("registry %s may not be reached: %s", self.host, error)
            raise self._unreachable() from error

    def _unreachable(self) -> RegistryUnreachable:
        return RegistryUnreachable(UNREACHABLE.format(host=self.host))

    def _cached_token(self, key: tuple[str, ...]) -> str | None:
        token, until = self._tokens.get(key, ("", 0.0))
        return token if monotonic() < until else None

    def _token(self, params: dict[str, str], scopes: list[str]) -> str:
        key = tuple(sorted(scopes))
        cached = self._cached_token(key)
        if cached:
            return cached
        if self.token_provider is not None:
            token = self.token_provider(scopes)
            lifetime = float(settings.REGISTRY_TOKEN_TTL)
        else:
            realm = params.get("realm")
            if not realm:
                raise RegistryProtocolError(
                    f"registry {self.host} asked for a token without a realm"
                )
            realm_origin = self._realm_origin(realm)
            query = [("service", params["service"])] if params.get("service") else []
            query += [("scope", scope) for scope in scopes]
            auth = (self.username, self.password) if self.username else None
            response = self._send(
                "GET", realm, {}, params=query, auth=auth, credentials_for=realm_origin
            )
            if response.status_code in (401, 403):
                raise self._credentials_error()
            if response.status_code != 200:
                raise RegistryProtocolError(
                    f"the token service of registry {self.host} answered {response.status_code}"
                )
            try:
                body = response.json()
                token = body.get("token") or body.get("access_token")
            except ValueError:
                token = None
            if not token:
                raise RegistryProtocolError(
                    f"the token service of registry {self.host} gave no token"
                )
            lifetime = _token_lifetime(body)
        # Half its lifetime: room for clocks that differ and for the request still to come.
        self._tokens[key] = (token, monotonic() + lifetime / 2)
        return token

    def _realm_origin(self, realm: str) -> outbound.Origin:
        """Where the token service a registry named may be asked for a token, and get the
        password: on the registry's own host:port. Elsewhere only when the operator allowed
        that host (then without the password) or configured this registry (Docker Hub's
        token service is auth.docker.io, over https)."""
        realm_origin = outbound.origin_of(realm)
        if realm_origin == self.origin:
            return realm_origin
        shown = f"{outbound.host_entry(realm_origin[0])}:{realm_origin[1]}"
        https = realm.lower().startswith("https://")
        if self.trusted and https:
            return realm_origin
        if not (self.trusted or outbound.is_allowed(*realm_origin)):
            raise RegistryProtocolError(
                f"registry {self.host} asks for logins at another host ({shown}), which this "
                "server does not contact for it; an administrator can allow that host "
                "(OUTBOUND_ALLOW)"
            )
        if self.username:
            raise RegistryAuthError(
                f"registry {self.host} asks for the password at another host ({shown}); this "
                "server sends a registry's password only to that registry's own host"
            )
        return self.origin  # the anonymous token request carries no credentials

    def _credentials_error(self) -> RegistryAuthError:
        if self.username:
            return RegistryAuthError(f"registry {self.host} rejected the username/password")
        return RegistryAuthError(f"registry {self.host} requires a username and password")

    def _request(
        self, method: str, path: str, scopes: list[str], headers: dict | None = None, **kwargs
    ) -> requests.Response:
        """Send, answering a 401 challenge once with Basic credentials or a bearer token."""
        url = path if path.startswith("http") else self.base_url + path
        headers = dict(headers or {})
        if self.token_provider is not None:
            headers["Authorization"] = "Bearer " + self._token({}, scopes)
        elif cached := self._cached_token(tuple(sorted(scopes))):
            headers["Authorization"] = "Bearer " + cached
        response = self._send(method, url, headers, **kwargs)
        if response.status_code != 401 or self.token_provider is not None:
            return response
        scheme, params = _parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic":
            if not self.username:
                raise self._credentials_error()
            retry = self._send(method, url, headers, auth=(self.username, self.password), **kwargs)
            if retry.status_code == 401:
                raise self._credentials_error()
            return retry
        if scheme == "bearer":
            wanted = scopes or ([params["scope"]] if params.get("scope") else [])
            headers["Authorization"] = "Bearer " + self._token(params, wanted)
            return self._send(method, url, headers, **kwargs)
        raise RegistryProtocolError(
            f"registry {self.host} asked for an authentication scheme we do not speak ({scheme})"
        )

    def _check(self, response: requests.Response, what: str) -> requests.Response:
        code = response.status_code
        if code < 300:
            return response
        if code == 401:
            if self.username or self.token_provider:
                raise RegistryAuthError(f"access to {what} was denied by registry {self.host}")
            raise self._credentials_error()
        if code == 403:
            raise RegistryAuthError(f"access to {what} was denied by registry {self.host}")
        if code == 404:
            raise RegistryNotFound(f"no {what} on registry {self.host}")
        raise RegistryProtocolError(f"registry {self.host} answered {code} for {what}")

    # -- operations --------------------------------------------------------------------

    def check_access(self, repository: str) -> None:
        """Raise unless these credentials can list the repository's tags."""
        response = self._request("GET", "/v2/", [f"repository:{repository}:pull"])
        if response.status_code == 401:
            raise self._credentials_error()
        if response.status_code >= 300 and response.status_code != 403:
            # Not a registry's answer: said as for any host that does not answer.
            log.info("registry %s answered %s at /v2/", self.host, response.status_code)
            raise self._unreachable()
        self.list_tags(repository, limit=1)

    def _pages(
        self, path: str, key: str, scopes: list[str], what: str, limit: int | None
    ) -> Iterator[list]:
        url = f"{path}?n={limit or self.page_size}"
        while url:
            response = self._check(self._request("GET", url, scopes), what)
            try:
                items = response.json().get(key) or []
            except ValueError as error:
                raise RegistryProtocolError(f"registry {self.host} sent unreadable JSON") from error
            yield items
            link = response.links.get("next", {}).get("url")
            url = urljoin(self.base_url + "/", link) if link and not limit else ""

    def _paged(self, path: str, key: str, scopes: list[str], what: str, limit: int | None) -> list:
        return [item for page in self._pages(path, key, scopes, what, limit) for item in page]

    def list_tags(self, repository: str, limit: int | None = None) -> list[str]:
        scopes = [f"repository:{repository}:pull"]
        what = f"repository {repository}"
        return self._paged(f"/v2/{repository}/tags/list", "tags", scopes, what, limit)

    def catalog(self) -> list[str]:
        return [repository for page in self.catalog_pages() for repository in page]

    def catalog_pages(self) -> Iterator[list[str]]:
        """The catalog a page (`page_size` repositories) at a time, so that a caller can do
        its work for many repositories at once."""
        return self._pages("/v2/_catalog", "repositories", ["registry:catalog:*"], "catalog", None)

    def manifest_digest(self, repository: str, reference: str) -> str:
        """A tag's manifest digest, from a HEAD request (no manifest read); "" if the registry
        does not say."""
        response = self._request(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            [f"repository:{repository}:pull"],
            # The digest of what a GET with the same Accept would serve.
            headers={"Accept": ACCEPT},
        )
        self._check(response, f"tag {reference} in {repository}")
        return response.headers.get("Docker-Content-Digest", "")

    def _get_manifest_raw(self, repository: str, reference: str) -> tuple[str, str, dict]:
        manifest = self.manifest_bytes(repository, reference, what=f"tag {reference}")
        return manifest.digest, manifest.media_type, manifest.body

    def get_manifest(
        self, repository: str, reference: str, *, read_platforms: bool = True
    ) -> ManifestInfo:
        """A tag's manifest and image config; for an index, linux/amd64's (else the first).

        `read_platforms`: for an index, also read every other platform's manifest to know its
        size (one request each; Docker Hub counts each as a pull, so public look-ups don't).
        """
        digest, media_type, body = self._get_manifest_raw(repository, reference)
        platform_digest = ""
        platforms: list[dict] = []
        manifest = body
        if media_type in LIST_TYPES or (not media_type and "manifests" in body):
            entries = images_of(body.get("manifests") or [])
            platform_digest = _pick_platform(entries, self.host)
            _, _, manifest = self._get_manifest_raw(repository, platform_digest)
            for entry in entries:
                size = None
                if entry["digest"] == platform_digest:
                    size = pulled_size(manifest)
                elif read_platforms:
                    size = pulled_size(self._get_manifest_raw(repository, entry["digest"])[2])
                platform = entry.get("platform") or {}
                platforms.append(
                    {
                        "os": str(platform.get("os") or ""),
                        "architecture": str(platform.get("architecture") or ""),
                        "variant": str(platform.get("variant") or ""),
                        "digest": entry["digest"],
                        "size": size,
                    }
                )
        elif media_type in DOCKER_SCHEMA1 or body.get("schemaVersion") == 1:
            raise RegistryProtocolError(
                f"{repository}:{reference} on registry {self.host} uses the old Docker schema 1 "
                "manifest format; push it again with a current client"
            )
        config_ref = manifest.get("config") or {}
        if not isinstance(config_ref.get("digest"), str) or not config_ref["digest"]:
            raise RegistryProtocolError(f"the manifest of {repository}:{reference} has no config")
        content = self._stored(repository, config_ref["digest"], manifest=False)
        if content is None:
            response = self._request(
                "GET",
                f"/v2/{repository}/blobs/{config_ref['digest']}",
                [f"repository:{repository}:pull"],
            )
            content = self._check(response, f"image config of {repository}:{reference}").content
        # A blob is named by its digest: what does not hash to it is not that blob, whatever
        # sent it (a redirect, a cache, a registry that lies).
        size = config_ref.get("size")
        if not check_digest(content, config_ref["digest"]) or (
            isinstance(size, int) and size != len(content)
        ):
            raise RegistryProtocolError(
                f"registry {self.host} sent an image config for {repository}:{reference} that "
                f"does not match its digest {config_ref['digest']}"
            )
        try:
            config_body = json.loads(content)
        except ValueError as error:
            raise RegistryProtocolError(
                f"the image config of {repository}:{reference} is not JSON"
            ) from error
        return ManifestInfo(
            digest=digest,
            media_type=media_type,
            config=parse_config(config_ref["digest"], config_body, layers_of(manifest)),
            platform_digest=platform_digest,
            size=pulled_size(manifest),
            platforms=platforms,
        )

    def manifest_bytes(self, repository: str, reference: str, *, what: str = "") -> RawManifest:
        """A manifest exactly as stored (to put it elsewhere under the same digest)."""
        if stored := self._stored_manifest(repository, reference):
            return stored
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            [f"repository:{repository}:pull"],
            headers={"Accept": ACCEPT},
        )
        self._check(response, f"{what or 'manifest ' + reference} in {repository}")
        # Read by digest, or named by the registry's digest header: the bytes must hash to it.
        claimed = [d for d in (reference, response.headers.get("Docker-Content-Digest")) if d]
        for digest in claimed:
            if ":" in digest and not check_digest(response.content, digest):
                raise RegistryProtocolError(
                    f"registry {self.host} sent a manifest for {repository}:{reference} that "
                    f"does not match its digest {digest}"
                )
        try:
            body = json.loads(response.content)
        except ValueError as error:
            raise RegistryProtocolError(
                f"registry {self.host} sent an unreadable manifest"
            ) from error
        if not isinstance(body, dict):
            raise RegistryProtocolError(f"registry {self.host} sent an unreadable manifest")
        media_type = body.get("mediaType") or response.headers.get("Content-Type", "").split(";")[0]
        digest = next(
            (d for d in claimed if ":" in d),
            "sha256:" + hashlib.sha256(response.content).hexdigest(),
        )
        return RawManifest(digest, media_type, response.content, body)

    def _stored(self, repository: str, digest: str, *, manifest: bool) -> bytes | None:
        if self.storage is None:
            return None
        return self.storage.linked_blob(repository, digest, manifest=manifest)

    def _stored_manifest(self, repository: str, reference: str) -> RawManifest | None:
        """The manifest `reference` (a digest) from the storage, if it is there and says its
        media type (the registry's Content-Type says it otherwise: then ask)."""
        content = self._stored(repository, reference, manifest=True)
        if content is None:
            return None
        try:
            body = json.loads(content)
        except ValueError:
            return None
        media_type = body.get("mediaType") if isinstance(body, dict) else None
        if not isinstance(media_type, str) or not media_type:
            return None
        return RawManifest(reference, media_type, content, body)

    def put_manifest(self, repository: str, reference: str, manifest: RawManifest) -> None:
        """Store a manifest under a tag or its digest; the registry checks its blobs are there."""
        response = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            [f"repository:{repository}:pull,push"],
            headers={"Content-Type": manifest.media_type},
            data=manifest.content,
        )
        self._check(response, f"manifest {manifest.digest} in {repository}")
        stored = response.headers.get("Docker-Content-Digest", manifest.digest)
        if stored != manifest.digest:
            raise RegistryProtocolError(
                f"registry {self.host} stored {repository}:{reference} as {stored}, "
                f"not {manifest.digest}"
            )

    def mount_blob(self, repository: str, digest: str, source: str) -> None:
        """Link a blob of `source` into `repository` without copying it."""
        scopes = [f"repository:{repository}:pull,push", f"repository:{source}:pull"]
        response = self._request(
            "POST",
            f"/v2/{repository}/blobs/uploads/?mount={digest}&from={source}",
            scopes,
        )
        if response.status_code == 201:
            return
        if response.status_code == 202:
            # The registry could not mount it (not in `source`) and opened an upload instead.
            location = response.headers.get("Location", "")
            if location:
                self._request("DELETE", urljoin(self.base_url + "/", location), scopes)
            raise RegistryNotFound(f"no blob {digest} in {source} on registry {self.host}")
        self._check(response, f"blob {digest} for {repository}")

    def delete_manifest(self, repository: str, digest: str) -> None:
        response = self._request(
            "DELETE", f"/v2/{repository}/manifests/{digest}", [f"repository:{repository}:delete"]
        )
        if response.status_code == 404:
            return
        self._check(response, f"manifest {digest} in {repository}")


def _token_lifetime(body: dict) -> float:
    """A token's seconds to live, as its token service says (60 if it does not, as the
    token specification has it)."""
    value = body.get("expires_in")
    return float(value) if isinstance(value, int | float) and value > 0 else 60.0


def _pick_platform(manifests: list[dict], host: str) -> str:
    """linux/amd64 from a manifest list or index, else the first entry."""
    if not manifests:
        raise RegistryProtocolError(f"an empty manifest list on registry {host}")
    for entry in manifests:
        platform = entry.get("platform") or {}
        if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
            return entry["digest"]
    return manifests[0]["digest"]


def client_for_image(image) -> RegistryClient:
    """The client for an image's registry, with the credentials that registry needs."""
    host = image.registry.host
    base_url = registry_base_url(host)
    # Our registry and the public one are the operator's settings; any other host was named
    # by a person, and the outbound policy decides whether it may be reached.
    trusted = host in (settings.REGISTRY_HOST, settings.PUBLIC_REGISTRY_HOST)
    if image.registry.is_tutum_registry:
        storage = registry_storage.local_storage() if host == settings.REGISTRY_HOST else None
        return RegistryClient(
            base_url, host=host, token_provider=service_token, trusted=trusted, storage=storage
        )
    return RegistryClient(
        base_url,
        host=host,
        username=image.registry_username,
        password=image.registry_password if image.registry_username else "",
        trusted=trusted,
    )
