"""The web admin's only way to the Tutum API: HTTP, typed results, typed errors.

Works against our own API or any Tutum-compatible server at settings.TUTUM_API_URL. Errors
are never turned into empty results: a page that should list images and can't says why.
"""

from __future__ import annotations

import base64
import email.utils
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar
from urllib.parse import quote

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lib import client_address

T = TypeVar("T")
PAGE_SIZE = 25


class ServiceError(Exception):
    """An API call failed; `message` is a sentence for the person using the admin.

    `maybe_saved`: a change was sent but its answer never came, so it may have been made
    (only ApiUnavailable sets it); otherwise nothing was changed.
    """

    maybe_saved = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ApiUnavailable(ServiceError):
    """The API could not be reached or did not answer in time."""

    def __init__(self, message: str, *, maybe_saved: bool = False):
        super().__init__(message)
        self.maybe_saved = maybe_saved


class NotAuthenticated(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class Forbidden(ServiceError):
    """Signed in, but this is not yours to do (staff-only pages, say)."""


class Invalid(ServiceError):
    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.fields = fields or {}


class TooManyAttempts(ServiceError):
    """The API paused something (sign-ins after wrong passwords); the message says how long."""


class ApiError(ServiceError):
    pass


@dataclass(frozen=True)
class Port:
    port: int
    protocol: str


def _short_digest(digest: str) -> str:
    """`sha256:` and the first 12 hex digits, as registries and Docker Hub shorten them."""
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:12]}" if hex_part else digest[:12]


@dataclass(frozen=True)
class Blob:
    """One of an image's layers as its manifest lists it."""

    digest: str
    size: int | None
    media_type: str

    @property
    def short_digest(self) -> str:
        return _short_digest(self.digest)


@dataclass(frozen=True)
class BuildStep:
    """One entry of the image config's history; `size` is its layer's (0: none made). Its
    time is left out: the page does not show it, and tag lists carry every tag's steps."""

    created_by: str
    comment: str
    empty_layer: bool
    size: int | None


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
        return _short_digest(self.digest)


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


@dataclass(frozen=True)
class BuildSetting:
    tag: str
    branch: str
    dockerfile: str
    autobuild: bool


@dataclass(frozen=True)
class BuildSource:
    type: str
    owner: str
    repository: str
    autotests: str
    build_settings: list[BuildSetting]
    has_access_token: bool = False


@dataclass(frozen=True)
class Build:
    uuid: str
    tag: str
    state: str
    trigger: str
    triggered_by: str | None
    branch: str
    dockerfile: str
    commit: str
    commit_message: str
    error: str
    created: datetime | None
    started: datetime | None
    finished: datetime | None
    duration: float | None
    queue_position: int | None
    workers_online: int
    log_size: int

    @property
    def is_active(self) -> bool:
        return self.state in ("Queued", "Building")

    @property
    def short_commit(self) -> str:
        return self.commit[:7]

    @property
    def commit_title(self) -> str:
        return self.commit_message.splitlines()[0] if self.commit_message else ""


@dataclass(frozen=True)
class LogChunk:
    text: str
    next_offset: int
    state: str
    complete: bool


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str = field(repr=False)

    @property
    def secret_hint(self) -> str:
        """The end of the secret, enough to tell which one GitHub has."""
        return self.secret[-4:]


@dataclass(frozen=True)
class Image:
    name: str
    description: str
    state: str
    is_private: bool
    jumpstart: bool
    registry_host: str
    last_build_date: datetime | None
    tag_names: list[str]
    categories: list[str]
    build_source: BuildSource | None
    team: str | None = None
    # What the signed-in person may do. Another Tutum server does not say: show everything
    # and let it refuse.
    can_write: bool = True
    can_manage: bool = True
    # Our API's extension, on one image: its layers' bytes, each counted once.
    storage_size: int | None = None

    @property
    def tag_count(self) -> int:
        return len(self.tag_names)


@dataclass(frozen=True)
class Registry:
    host: str
    name: str
    is_ours: bool = False
    is_ssl: bool = True


@dataclass(frozen=True)
class Account:
    username: str
    email: str
    display_name: str
    is_staff: bool
    github_login: str
    has_github_token: bool
    # Where the person may add images on our registry: their own namespace, then teams'.
    namespaces: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Person:
    username: str
    email: str
    display_name: str
    is_active: bool
    is_staff: bool
    date_joined: datetime | None
    last_login: datetime | None


@dataclass(frozen=True)
class Invitation:
    id: int
    email: str
    invited_by: str
    created: datetime | None
    expires: datetime | None
    is_expired: bool
    sent: datetime | None


@dataclass(frozen=True)
class NewInvitation:
    """An invitation just made or sent again: the only moment its link is known."""

    invitation: Invitation
    token: str = field(repr=False)
    # "" when it was emailed, else why not.
    not_sent: str = ""


@dataclass(frozen=True)
class OpenInvitation:
    email: str
    invited_by: str
    expires: datetime | None


@dataclass(frozen=True)
class ApiKey:
    id: int
    label: str
    prefix: str
    created: datetime | None
    last_used: datetime | None
    expires: datetime | None
    is_expired: bool


@dataclass(frozen=True)
class NewApiKey:
    """A key just made: the only moment its whole value is known."""

    api_key: ApiKey
    key: str = field(repr=False)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int
    # From the answer's `next` and `previous` when it has them (None: work it out).
    more: bool | None = None
    earlier: bool | None = None
    # The API stopped counting (total_count_exact: false): `total` is a floor.
    total_exact: bool = True
    # Read from a name on (the image list's after/before): positions are not known.
    keyed: bool = False

    @property
    def has_previous(self) -> bool:
        return self.earlier if self.earlier is not None else self.offset > 0

    @property
    def has_next(self) -> bool:
        return self.more if self.more is not None else self.offset + self.limit < self.total

    @property
    def previous_offset(self) -> int:
        return max(self.offset - self.limit, 0)

    @property
    def next_offset(self) -> int:
        return self.offset + self.limit

    @property
    def first_index(self) -> int | None:
        """The first item's position (1 for the first); None on a page read from a name in
        the middle of the list, whose position nobody counted."""
        if not self.keyed:
            return self.offset + 1 if self.total else 0
        if not self.has_previous:
            return 1 if self.items else 0
        if not self.has_next and self.total_exact:
            return self.total - len(self.items) + 1
        return None

    @property
    def last_index(self) -> int | None:
        if not self.keyed:
            return min(self.offset + self.limit, self.total)
        first = self.first_index
        return None if first is None else first + len(self.items) - 1


@dataclass(frozen=True)
class Credentials:
    username: str
    key: str = field(repr=False)
    # The browser's address, vouched for on changes so the API's audit trail says where a
    # change came from (not the admin's own address).
    browser_address: str = ""

    @property
    def header(self) -> str:
        return f"ApiKey {self.username}:{self.key}"


def parse_date(value: str | None) -> datetime | None:
    """Tutum's RFC 2822 dates (`Fri, 8 Nov 2013 00:22:26 +0000`) as aware datetimes."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


_local = threading.local()


def _session() -> requests.Session:
    """One session per thread (requests.Session is not thread-safe), with GET-only retries."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        # Reading proxy variables and ~/.netrc on every call costs more than rendering a
        # page; the admin talks to one known API, through a proxy only when told to.
        session.trust_env = settings.TUTUM_API_TRUST_ENV
        # Only failures to connect are retried (the request never left, so trying again is
        # safe and quick); a read that timed out is not: the person would wait twice.
        retry = Retry(
            total=1,
            connect=1,
            read=0,
            status=0,
            other=0,
            backoff_factor=0.2,
        )
        session.mount("http://", HTTPAdapter(max_retries=retry))
        session.mount("https://", HTTPAdapter(max_retries=retry))
        session.headers["Accept"] = "application/json"
        _local.session = session
    return session


def _path(name: str) -> str:
    # Image names go raw into the path (slashes and host:port), as Tutum's clients send them.
    return quote(name, safe="/:")


def _request(
    method: str,
    path: str,
    *,
    creds: Credentials,
    params: dict | None = None,
    json: dict | None = None,
) -> dict | None:
    headers = {"Authorization": creds.header}
    if method != "GET" and creds.browser_address:
        headers[client_address.HEADER] = client_address.vouch(creds.browser_address)
    return _handle(_send(method, path, headers=headers, params=params, json=json))


def _send(method: str, path: str, *, headers: dict, params=None, json=None) -> requests.Response:
    url = settings.TUTUM_API_URL + path
    try:
        return _session().request(
            method,
            url,
            params=params,
            json=json,
            headers=headers,
            timeout=(settings.TUTUM_API_CONNECT_TIMEOUT, settings.TUTUM_API_READ_TIMEOUT),
        )
    except requests.RequestException as error:
        raise _unavailable(method, error) from error


def _unavailable(method: str, error: requests.RequestException) -> ApiUnavailable:
    """Say truthfully what a failure means: a request that never reached the API changed
    nothing; a change whose answer never came may have been made."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    never_sent = isinstance(error, requests.ConnectTimeout) or isinstance(
        reason,
        urllib3.exceptions.ConnectTimeoutError,  # refused and unresolvable too
    )
    if never_sent:
        return ApiUnavailable("The image service cannot be reached right now.")
    if method in ("GET", "HEAD"):
        return ApiUnavailable("The image service took too long to answer.")
    return ApiUnavailable("The image service did not answer in time.", maybe_saved=True)


def _handle(response: requests.Response) -> dict | None:
    status = response.status_code
    if status == 204:
        return None
    try:
        body = response.json()
    except ValueError:
        body = {}
    message = body.get("error") if isinstance(body, dict) else None
    if status < 300:
        return body
    if status == 401:
        raise NotAuthenticated(message or "Your session has ended. Please sign in again.")
    if status == 404:
        raise NotFound(message or "That page does not exist.")
    if status == 403:
        raise Forbidden(message or "You may not do that.")
    if status == 409:
        raise Conflict(message or "That conflicts with the current state.")
    if status == 400:
        raise Invalid(message or "Some values were not accepted.", body.get("fields"))
    if status == 429:
        raise TooManyAttempts(message or "Too many attempts. Please wait a few minutes.")
    if status >= 500:
        raise ApiUnavailable(message or "The image service had a problem. Please try again.")
    raise ApiError(message or f"The image service refused the request ({status}).")


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
        ports=[Port(int(p["port"]), p.get("protocol", "tcp")) for p in data.get("ports") or []],
        volumes=[v["container_path"] for v in data.get("volumes") or []],
        layers=[
            Blob(
                digest=str(b.get("digest") or ""),
                size=_size(b.get("size")),
                media_type=str(b.get("media_type") or ""),
            )
            for b in data.get("layers") or []
        ],
        history=[
            BuildStep(
                created_by=str(h.get("created_by") or ""),
                comment=str(h.get("comment") or ""),
                empty_layer=bool(h.get("empty_layer")),
                size=_size(h.get("size")),
            )
            for h in data.get("history") or []
        ],
    )


def _size(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _tag_name_from_uri(uri: str) -> str:
    return uri.rstrip("/").rsplit("/tag/", 1)[-1]


def _image(data: dict) -> Image:
    source = data.get("build_source")
    build_source = None
    if source:
        build_source = BuildSource(
            type=source.get("type", "GITHUB"),
            owner=source.get("owner", ""),
            repository=source.get("repository", ""),
            autotests=source.get("autotests", "OFF"),
            build_settings=[
                BuildSetting(
                    tag=_tag_name_from_uri(s["tag"]),
                    branch=s.get("branch", ""),
                    dockerfile=s.get("dockerfile", "/"),
                    autobuild=bool(s.get("autobuild")),
                )
                for s in source.get("build_settings") or []
            ],
            has_access_token=bool(source.get("has_access_token")),
        )
    return Image(
        name=data["name"],
        description=data.get("description") or "",
        state=data.get("state") or "Empty",
        is_private=bool(data.get("is_private_image")),
        jumpstart=bool(data.get("jumpstart")),
        registry_host=(data.get("registry") or "").rstrip("/").rsplit("/", 1)[-1],
        last_build_date=parse_date(data.get("last_build_date")),
        tag_names=[_tag_name_from_uri(uri) for uri in data.get("tags") or []],
        categories=[c["name"] for c in data.get("categories") or []],
        build_source=build_source,
        team=data.get("team"),
        can_write=_permitted(data, "write"),
        can_manage=_permitted(data, "manage"),
        storage_size=_size(data.get("storage_size")),
    )


def _permitted(data: dict, ability: str) -> bool:
    return bool((data.get("permissions") or {}).get(ability, True))


def _tag(data: dict) -> Tag:
    return Tag(
        name=data["name"],
        full_name=data.get("full_name", ""),
        state=data.get("state") or "Empty",
        buildable=bool(data.get("buildable")),
        layer=_layer(data.get("layer")),
        can_write=_permitted(data, "write"),
        digest=str(data.get("digest") or ""),
        size=_size(data.get("size")),
        os=str(data.get("os") or ""),
        architecture=str(data.get("architecture") or ""),
        variant=str(data.get("variant") or ""),
        platforms=[
            Platform(
                os=str(p.get("os") or ""),
                architecture=str(p.get("architecture") or ""),
                variant=str(p.get("variant") or ""),
                digest=str(p.get("digest") or ""),
                size=_size(p.get("size")),
            )
            for p in data.get("platforms") or []
        ],
        pushed_by=str(data.get("pushed_by") or ""),
        pushed_at=parse_date(data.get("pushed_at")),
        last_pulled=parse_date(data.get("last_pulled")),
    )


def _page(body: dict, parse, *, keyed: bool = False) -> Page:
    meta = body.get("meta") or {}
    objects = body.get("objects") or []
    return Page(
        items=[parse(item) for item in objects],
        total=int(meta.get("total_count", len(objects))),
        offset=int(meta.get("offset", 0)),
        limit=int(meta.get("limit", PAGE_SIZE)) or PAGE_SIZE,
        more=meta["next"] is not None if "next" in meta else None,
        earlier=meta["previous"] is not None if "previous" in meta else None,
        total_exact=meta.get("total_count_exact", True) is not False,
        keyed=keyed,
    )


# -- the operations the admin uses -------------------------------------------------------


def login(username: str, password: str, *, browser_address: str = "") -> Credentials:
    """Exchange a username and password for the user's API key.

    `browser_address` lets our API count wrong passwords per browser rather than per admin
    server (see tutumweb.client_address).
    """
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    if browser_address:
        headers[client_address.HEADER] = client_address.vouch(browser_address)
    try:
        # Our API gives each browser a sign-in of its own, ended at sign-out or when the
        # password changes; another Tutum server only has Tutum's key exchange.
        try:
            body = _handle(_send("POST", "/api/v1/session/", headers=headers))
        except NotFound:
            body = _handle(_send("GET", "/api/v1/auth/", headers=headers))
        else:
            if not (body or {}).get("key"):
                raise ApiError("The image service did not return a sign-in.")
            return Credentials(username=body.get("username", username), key=body["key"])
    except NotAuthenticated as error:
        raise NotAuthenticated("That username and password do not match.") from error
    objects = (body or {}).get("objects") or []
    if not objects or not objects[0].get("key"):
        raise ApiError("The image service did not return an API key.")
    return Credentials(username=objects[0].get("username", username), key=objects[0]["key"])


def logout(creds: Credentials) -> None:
    """End this browser's sign-in on the API, so its credential is refused from now on."""
    _request("DELETE", "/api/v1/session/", creds=creds)


def change_password(creds: Credentials, current: str, new: str) -> int:
    """Returns how many other browsers were signed out."""
    body = _request(
        "POST",
        "/api/v1/account/password/",
        creds=creds,
        json={"current_password": current, "new_password": new},
    )
    return int((body or {}).get("signed_out") or 0)


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
    params = {"limit": limit, "offset": offset, **(filters or {})}
    if search:
        params["name__icontains"] = search
    if order:
        params["order_by"] = order
    if after:
        params["after"] = after
    elif before:
        params["before"] = before
    body = _request("GET", "/api/v1/image/", creds=creds, params=params)
    return _page(body, _image, keyed=bool(after or before))


def get_image(creds: Credentials, name: str) -> Image:
    return _image(_request("GET", f"/api/v1/image/{_path(name)}/", creds=creds))


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
    params = {"limit": limit, "offset": offset}
    if search:
        params["name"] = search
    if order:
        params["order_by"] = order
    if after:
        params["after"] = after
    elif before:
        params["before"] = before
    body = _request("GET", f"/api/v1/image/{_path(name)}/tag/", creds=creds, params=params)
    return _page(body, _tag, keyed=bool(after or before))


def get_tag(creds: Credentials, name: str, tag: str) -> Tag:
    return _tag(_request("GET", _tag_path(name, tag), creds=creds))


def list_registries(creds: Credentials) -> list[Registry]:
    body = _request("GET", "/api/v1/registry/", creds=creds, params={"limit": 0})
    return [
        Registry(
            r["host"],
            r.get("name", r["host"]),
            is_ours=bool(r.get("is_tutum_registry")),
            is_ssl=bool(r.get("is_ssl", True)),
        )
        for r in body.get("objects") or []
    ]


def _account(data: dict) -> Account:
    return Account(
        username=data["username"],
        email=data.get("email") or "",
        display_name=data.get("display_name") or "",
        is_staff=bool(data.get("is_staff")),
        github_login=data.get("github_login") or "",
        has_github_token=bool(data.get("has_github_token")),
        namespaces=list(data.get("namespaces") or [data["username"]]),
    )


def get_account(creds: Credentials) -> Account:
    return _account(_request("GET", "/api/v1/account/", creds=creds))


def update_account(creds: Credentials, data: dict) -> Account:
    """Change the fields in `data` (email, display_name, github_login, github_token)."""
    return _account(_request("PATCH", "/api/v1/account/", creds=creds, json=data))


def _person(data: dict) -> Person:
    return Person(
        username=data["username"],
        email=data.get("email") or "",
        display_name=data.get("display_name") or "",
        is_active=bool(data.get("is_active")),
        is_staff=bool(data.get("is_staff")),
        date_joined=parse_date(data.get("date_joined")),
        last_login=parse_date(data.get("last_login")),
    )


def list_people(creds: Credentials, offset: int = 0) -> Page[Person]:
    params = {"limit": 100, "offset": offset}
    return _page(_request("GET", "/api/v1/user/", creds=creds, params=params), _person)


def get_person(creds: Credentials, username: str) -> Person:
    return _person(_request("GET", f"/api/v1/user/{quote(username, safe='')}/", creds=creds))


def update_person(creds: Credentials, username: str, data: dict) -> Person:
    path = f"/api/v1/user/{quote(username, safe='')}/"
    return _person(_request("PATCH", path, creds=creds, json=data))


def make_reset_link(creds: Credentials, username: str) -> tuple[str, str]:
    """(uid, token) of a single-use password reset link for `username` (staff)."""
    path = f"/api/v1/user/{quote(username, safe='')}/reset-link/"
    body = _request("POST", path, creds=creds)
    return body["uid"], body["token"]


def reset_password(uid: str, token: str, new: str) -> str:
    """Set a password with a reset link (no sign-in needed); returns the username."""
    body = {"uid": uid, "token": token, "new_password": new}
    return _handle(_send("POST", "/api/v1/password-reset/", headers={}, json=body))["username"]


def _public(method: str, path: str, browser_address: str, json: dict | None = None) -> dict:
    """A call anyone may make without signing in (joining, reset emails); the browser's
    address, vouched for, is what the API's rate limits count."""
    headers = {}
    if browser_address:
        headers[client_address.HEADER] = client_address.vouch(browser_address)
    return _handle(_send(method, path, headers=headers, json=json)) or {}


def reset_by_email() -> bool:
    """Whether the API can email reset links (email is set up there)."""
    try:
        return bool(_public("GET", "/api/v1/password-reset/request/", "").get("by_email"))
    except NotFound:
        return False  # another Tutum server: ask staff


def request_reset_email(email: str, *, browser_address: str) -> str:
    """Ask for a reset link by email; returns the API's answer (the same for any address)."""
    body = _public("POST", "/api/v1/password-reset/request/", browser_address, {"email": email})
    return body.get("detail", "")


def signup_open() -> bool:
    try:
        return bool(_public("GET", "/api/v1/signup/", "").get("open"))
    except ServiceError:
        # The sign-in page only hides its "Create an account" link.
        return False


def sign_up(data: dict, *, browser_address: str) -> str:
    """Make an account (username, email, password, display_name); returns the username."""
    return _public("POST", "/api/v1/signup/", browser_address, data)["username"]


def _invitation(data: dict) -> Invitation:
    return Invitation(
        id=int(data["id"]),
        email=data["email"],
        invited_by=data.get("invited_by") or "",
        created=parse_date(data.get("created")),
        expires=parse_date(data.get("expires")),
        is_expired=bool(data.get("is_expired")),
        sent=parse_date(data.get("sent")),
    )


def _new_invitation(data: dict) -> NewInvitation:
    return NewInvitation(_invitation(data), data["token"], data.get("not_sent") or "")


def list_invitations(creds: Credentials) -> Page[Invitation]:
    params = {"limit": 100}
    return _page(_request("GET", "/api/v1/invitation/", creds=creds, params=params), _invitation)


def invite(creds: Credentials, email: str) -> NewInvitation:
    body = _request("POST", "/api/v1/invitation/", creds=creds, json={"email": email})
    return _new_invitation(body)


def resend_invitation(creds: Credentials, invitation_id: int) -> NewInvitation:
    path = f"/api/v1/invitation/{invitation_id}/resend/"
    return _new_invitation(_request("POST", path, creds=creds))


def cancel_invitation(creds: Credentials, invitation_id: int) -> None:
    _request("DELETE", f"/api/v1/invitation/{invitation_id}/", creds=creds)


def open_invitation(token: str) -> OpenInvitation:
    """What an invitation link is for; Invalid (field "token") says why it no longer works."""
    body = _public("GET", f"/api/v1/invite/{quote(token, safe='')}/", "")
    return OpenInvitation(
        body["email"], body.get("invited_by") or "", parse_date(body.get("expires"))
    )


def accept_invitation(token: str, data: dict, *, browser_address: str) -> str:
    """Choose a username and password (and display_name); returns the username."""
    path = f"/api/v1/invite/{quote(token, safe='')}/"
    return _public("POST", path, browser_address, data)["username"]


def our_registry(creds: Credentials) -> Registry | None:
    """This installation's own registry, where people push; None if it has none."""
    return next((r for r in list_registries(creds) if r.is_ours), None)


def _api_key(data: dict) -> ApiKey:
    return ApiKey(
        id=data["id"],
        label=data.get("label") or "",
        prefix=data.get("prefix") or "",
        created=parse_date(data.get("created")),
        last_used=parse_date(data.get("last_used")),
        expires=parse_date(data.get("expires")),
        is_expired=bool(data.get("is_expired")),
    )


def list_api_keys(creds: Credentials) -> list[ApiKey]:
    body = _request("GET", "/api/v1/apikey/", creds=creds, params={"limit": 0})
    return [_api_key(k) for k in body.get("objects") or []]


def get_api_key(creds: Credentials, key_id: int) -> ApiKey:
    return _api_key(_request("GET", f"/api/v1/apikey/{int(key_id)}/", creds=creds))


def create_api_key(creds: Credentials, label: str, expires_in_days: int | None) -> NewApiKey:
    body = _request(
        "POST",
        "/api/v1/apikey/",
        creds=creds,
        json={"label": label, "expires_in_days": expires_in_days},
    )
    return NewApiKey(api_key=_api_key(body), key=body["key"])


def revoke_api_key(creds: Credentials, key_id: int) -> None:
    _request("DELETE", f"/api/v1/apikey/{int(key_id)}/", creds=creds)


def register_image(creds: Credentials, data: dict) -> Image:
    return _image(_request("POST", "/api/v1/image/", creds=creds, json=data))


def update_image(creds: Credentials, name: str, data: dict) -> Image:
    return _image(_request("PATCH", f"/api/v1/image/{_path(name)}/", creds=creds, json=data))


def delete_image(creds: Credentials, name: str) -> None:
    _request("DELETE", f"/api/v1/image/{_path(name)}/", creds=creds)


def _build(data: dict) -> Build:
    return Build(
        uuid=data["uuid"],
        tag=data.get("tag_name", ""),
        state=data.get("state", "Queued"),
        trigger=data.get("trigger", "API"),
        triggered_by=data.get("triggered_by"),
        branch=data.get("branch", ""),
        dockerfile=data.get("dockerfile", "/"),
        commit=data.get("commit") or "",
        commit_message=data.get("commit_message") or "",
        error=data.get("error") or "",
        created=parse_date(data.get("created")),
        started=parse_date(data.get("started")),
        finished=parse_date(data.get("finished")),
        duration=data.get("duration"),
        queue_position=data.get("queue_position"),
        workers_online=int(data.get("workers_online") or 0),
        log_size=int(data.get("log_size") or 0),
    )


def _tag_path(name: str, tag: str) -> str:
    return f"/api/v1/image/{_path(name)}/tag/{quote(tag, safe='')}/"


def start_build(creds: Credentials, name: str, tag: str) -> str:
    """Queue a build of the tag (as a person's click); returns the new build's uuid."""
    response = _send(
        "POST",
        _tag_path(name, tag) + "build/",
        headers={"Authorization": creds.header},
        json={"trigger": "USER"},
    )
    _handle(response)
    return response.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]


def list_builds(
    creds: Credentials, name: str, tag: str, *, offset: int = 0, limit: int = 10
) -> Page[Build]:
    params = {"limit": limit, "offset": offset}
    body = _request("GET", _tag_path(name, tag) + "build/", creds=creds, params=params)
    return _page(body, _build)


def get_build(creds: Credentials, uuid: str) -> Build:
    return _build(_request("GET", f"/api/v1/build/{quote(uuid, safe='')}/", creds=creds))


def cancel_build(creds: Credentials, uuid: str) -> Build:
    return _build(_request("POST", f"/api/v1/build/{quote(uuid, safe='')}/cancel/", creds=creds))


def read_log(creds: Credentials, uuid: str, offset: int = 0) -> LogChunk:
    path = f"/api/v1/build/{quote(uuid, safe='')}/log/"
    body = _request("GET", path, creds=creds, params={"offset": offset})
    return LogChunk(
        text=body.get("text") or "",
        next_offset=int(body.get("next_offset") or offset),
        state=body.get("state") or "",
        complete=bool(body.get("complete")),
    )


def get_webhook(creds: Credentials, name: str) -> Webhook:
    body = _request("GET", f"/api/v1/hooks/github/{_path(name)}/", creds=creds)
    return Webhook(url=body["url"], secret=body["secret"])


# Teams (extensions of our API; another Tutum server answers 404 and the pages say so).

ROLES = ("Reader", "Writer", "Owner")


@dataclass(frozen=True)
class Team:
    name: str
    description: str
    role: str | None
    member_count: int
    image_count: int
    created: datetime | None

    @property
    def is_owner(self) -> bool:
        return self.role == "Owner"

    @property
    def can_write(self) -> bool:
        return self.role in ("Writer", "Owner")


@dataclass(frozen=True)
class Member:
    username: str
    display_name: str
    role: str
    joined: datetime | None


@dataclass(frozen=True)
class TeamInvitation:
    id: int
    team: str
    role: str
    username: str | None  # None: a link anyone signed in may accept once
    invited_by: str
    created: datetime | None
    expires: datetime | None
    is_expired: bool


@dataclass(frozen=True)
class NewTeamInvitation:
    invitation: TeamInvitation
    token: str | None = field(repr=False, default=None)


def _team(data: dict) -> Team:
    return Team(
        name=data["name"],
        description=data.get("description") or "",
        role=data.get("role"),
        member_count=int(data.get("member_count") or 0),
        image_count=int(data.get("image_count") or 0),
        created=parse_date(data.get("created")),
    )


def _member(data: dict) -> Member:
    return Member(
        username=data["username"],
        display_name=data.get("display_name") or "",
        role=data["role"],
        joined=parse_date(data.get("joined")),
    )


def _team_invitation(data: dict) -> TeamInvitation:
    return TeamInvitation(
        id=int(data["id"]),
        team=data["team"],
        role=data["role"],
        username=data.get("username"),
        invited_by=data.get("invited_by") or "",
        created=parse_date(data.get("created")),
        expires=parse_date(data.get("expires")),
        is_expired=bool(data.get("is_expired")),
    )


def _team_path(team: str, rest: str = "") -> str:
    return f"/api/v1/team/{quote(team, safe='')}/{rest}"


def list_teams(creds: Credentials) -> list[Team]:
    body = _request("GET", "/api/v1/team/", creds=creds, params={"limit": 100})
    return [_team(t) for t in body.get("objects") or []]


def create_team(creds: Credentials, name: str, description: str = "") -> Team:
    body = {"name": name, "description": description}
    return _team(_request("POST", "/api/v1/team/", creds=creds, json=body))


def get_team(creds: Credentials, team: str) -> Team:
    return _team(_request("GET", _team_path(team), creds=creds))


def update_team(creds: Credentials, team: str, description: str) -> Team:
    body = {"description": description}
    return _team(_request("PATCH", _team_path(team), creds=creds, json=body))


def delete_team(creds: Credentials, team: str) -> None:
    _request("DELETE", _team_path(team), creds=creds)


def list_members(creds: Credentials, team: str) -> list[Member]:
    body = _request("GET", _team_path(team, "member/"), creds=creds, params={"limit": 100})
    return [_member(m) for m in body.get("objects") or []]


def _member_path(team: str, username: str) -> str:
    return _team_path(team, f"member/{quote(username, safe='')}/")


def get_member(creds: Credentials, team: str, username: str) -> Member:
    return _member(_request("GET", _member_path(team, username), creds=creds))


def change_role(creds: Credentials, team: str, username: str, role: str) -> Member:
    body = {"role": role}
    return _member(_request("PATCH", _member_path(team, username), creds=creds, json=body))


def remove_member(creds: Credentials, team: str, username: str) -> None:
    _request("DELETE", _member_path(team, username), creds=creds)


def list_team_invitations(creds: Credentials, team: str) -> list[TeamInvitation]:
    body = _request("GET", _team_path(team, "invitation/"), creds=creds, params={"limit": 100})
    return [_team_invitation(i) for i in body.get("objects") or []]


def invite_to_team(
    creds: Credentials, team: str, role: str, username: str = ""
) -> NewTeamInvitation:
    """By username (they accept on their Teams page), or a link when `username` is empty."""
    body = {"role": role, **({"username": username} if username else {})}
    made = _request("POST", _team_path(team, "invitation/"), creds=creds, json=body)
    return NewTeamInvitation(_team_invitation(made), made.get("token"))


def cancel_team_invitation(creds: Credentials, team: str, invitation_id: int) -> None:
    _request("DELETE", _team_path(team, f"invitation/{invitation_id}/"), creds=creds)


def my_team_invitations(creds: Credentials) -> list[TeamInvitation]:
    body = _request("GET", "/api/v1/account/invitation/", creds=creds, params={"limit": 100})
    return [_team_invitation(i) for i in body.get("objects") or []]


def answer_team_invitation(creds: Credentials, invitation_id: int, *, accept: bool) -> None:
    path = f"/api/v1/account/invitation/{invitation_id}/"
    _request("POST" if accept else "DELETE", path, creds=creds)


def open_team_link(creds: Credentials, token: str) -> TeamInvitation:
    path = f"/api/v1/team-invitation/{quote(token, safe='')}/"
    return _team_invitation(_request("GET", path, creds=creds))


def answer_team_link(creds: Credentials, token: str, *, accept: bool) -> None:
    path = f"/api/v1/team-invitation/{quote(token, safe='')}/"
    _request("POST" if accept else "DELETE", path, creds=creds)


@dataclass(frozen=True)
class TeamToken:
    id: int
    name: str
    username: str  # what it logs in as: <team>+<name>
    prefix: str
    access: str  # "pull" or "push"
    images: list[str]  # empty: every image of the team
    created_by: str
    expires: datetime | None
    last_used: datetime | None
    is_expired: bool

    @property
    def may_push(self) -> bool:
        return self.access == "push"


@dataclass(frozen=True)
class NewTeamToken:
    """A token just made: the only moment its secret is known."""

    token: TeamToken
    secret: str = field(repr=False)


def _team_token(data: dict) -> TeamToken:
    return TeamToken(
        id=int(data["id"]),
        name=data["name"],
        username=data.get("username") or data["name"],
        prefix=data.get("prefix") or "",
        access=data.get("access") or "pull",
        images=[uri.removeprefix("/api/v1/image/").rstrip("/") for uri in data.get("images") or []],
        created_by=data.get("created_by") or "",
        expires=parse_date(data.get("expires")),
        last_used=parse_date(data.get("last_used")),
        is_expired=bool(data.get("is_expired")),
    )


def list_team_tokens(creds: Credentials, team: str) -> list[TeamToken]:
    body = _request("GET", _team_path(team, "token/"), creds=creds, params={"limit": 100})
    return [_team_token(t) for t in body.get("objects") or []]


def make_team_token(
    creds: Credentials, team: str, *, name: str, access: str, expires: str, images: list[str]
) -> NewTeamToken:
    """`expires` is an ISO 8601 date; no `images` means every image of the team."""
    body = {"name": name, "access": access, "expires": expires}
    if images:
        body["images"] = images
    made = _request("POST", _team_path(team, "token/"), creds=creds, json=body)
    return NewTeamToken(_team_token(made), made["secret"])


def get_team_token(creds: Credentials, team: str, token_id: int) -> TeamToken:
    return _team_token(_request("GET", _team_path(team, f"token/{token_id}/"), creds=creds))


def revoke_team_token(creds: Credentials, team: str, token_id: int) -> None:
    _request("DELETE", _team_path(team, f"token/{token_id}/"), creds=creds)


@dataclass(frozen=True)
class AuditEvent:
    id: int
    time: datetime | None
    actor: str
    actor_kind: str
    action: str
    target: str
    team: str | None
    address: str
    details: dict


def list_audit(
    creds: Credentials, *, filters: dict | None = None, offset: int = 0, limit: int = 50
) -> Page[AuditEvent]:
    params = {"limit": limit, "offset": offset, **(filters or {})}

    def parse(data: dict) -> AuditEvent:
        return AuditEvent(
            id=int(data["id"]),
            time=parse_date(data.get("time")),
            actor=data.get("actor") or "",
            actor_kind=data.get("actor_kind") or "",
            action=data.get("action") or "",
            target=data.get("target") or "",
            team=data.get("team"),
            address=data.get("address") or "",
            details=data.get("details") or {},
        )

    return _page(_request("GET", "/api/v1/audit/", creds=creds, params=params), parse)


@dataclass(frozen=True)
class Grant:
    """Someone or something that reaches an image, what it may do, and why."""

    kind: str  # person, token, everyone, staff
    name: str
    display_name: str
    can_write: bool
    can_manage: bool
    reason: str
    expires: datetime | None


def image_access(creds: Credentials, name: str) -> list[Grant]:
    body = _request("GET", f"/api/v1/image/{_path(name)}/access/", creds=creds)["objects"]
    return [
        Grant(
            kind=g["kind"],
            name=g["name"],
            display_name=g.get("display_name") or "",
            can_write=bool(g["permissions"].get("write")),
            can_manage=bool(g["permissions"].get("manage")),
            reason=g.get("reason") or "",
            expires=parse_date(g.get("expires")),
        )
        for g in body
    ]


@dataclass(frozen=True)
class Reach:
    """A namespace the person reaches (their own, a team's, others' public images)."""

    kind: str
    namespace: str
    role: str | None
    can_write: bool
    can_manage: bool
    reason: str
    image_count: int


def account_access(creds: Credentials) -> list[Reach]:
    body = _request("GET", "/api/v1/account/access/", creds=creds)["objects"]
    return [
        Reach(
            kind=r["kind"],
            namespace=r.get("namespace") or "",
            role=r.get("role"),
            can_write=bool(r["permissions"].get("write")),
            can_manage=bool(r["permissions"].get("manage")),
            reason=r.get("reason") or "",
            image_count=int(r.get("image_count") or 0),
        )
        for r in body
    ]


# -- the recycle bin -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeletedTag:
    name: str
    digest: str
    size: int | None


@dataclass(frozen=True)
class BinEntry:
    """A deleted tag or image, restorable until `purge_after`."""

    id: int
    kind: str  # "tag" or "image"
    image: str
    tag: str | None
    tags: list[DeletedTag]
    digest: str
    size: int | None
    deleted_at: datetime | None
    deleted_by: str
    reason: str
    purge_after: datetime | None
    image_exists: bool

    @property
    def short_digest(self) -> str:
        return _short_digest(self.digest)


@dataclass(frozen=True)
class Restored:
    image: str
    tags: list[str]


def _bin_entry(data: dict) -> BinEntry:
    return BinEntry(
        id=int(data["id"]),
        kind=data.get("kind") or "tag",
        image=data.get("image") or "",
        tag=data.get("tag"),
        tags=[
            DeletedTag(t.get("name") or "", t.get("digest") or "", _size(t.get("size")))
            for t in data.get("tags") or []
        ],
        digest=data.get("digest") or "",
        size=_size(data.get("size")),
        deleted_at=parse_date(data.get("deleted_at")),
        deleted_by=data.get("deleted_by") or "",
        reason=data.get("reason") or "",
        purge_after=parse_date(data.get("purge_after")),
        image_exists=bool(data.get("image_exists")),
    )


def delete_tags(creds: Credentials, name: str, tags: list[str]) -> list[BinEntry]:
    """Move tags to the recycle bin, all or none."""
    body = _request(
        "POST", f"/api/v1/image/{_path(name)}/deleted/", creds=creds, json={"tags": tags}
    )
    return [_bin_entry(entry) for entry in body or []]


def image_bin(creds: Credentials, name: str, *, offset: int = 0) -> Page[BinEntry]:
    params = {"limit": PAGE_SIZE, "offset": offset}
    body = _request("GET", f"/api/v1/image/{_path(name)}/deleted/", creds=creds, params=params)
    return _page(body, _bin_entry)


def list_bin(creds: Credentials, *, namespace: str = "", offset: int = 0) -> Page[BinEntry]:
    params: dict = {"limit": PAGE_SIZE, "offset": offset}
    if namespace:
        params["namespace"] = namespace
    return _page(_request("GET", "/api/v1/deleted/", creds=creds, params=params), _bin_entry)


def get_bin_entry(creds: Credentials, entry_id: int) -> BinEntry:
    return _bin_entry(_request("GET", f"/api/v1/deleted/{entry_id}/", creds=creds))


def restore(creds: Credentials, entry_id: int) -> Restored:
    body = _request("POST", f"/api/v1/deleted/{entry_id}/restore/", creds=creds)
    return Restored(image=body["image"], tags=list(body.get("tags") or []))


def purge(creds: Credentials, entry_id: int) -> None:
    _request("DELETE", f"/api/v1/deleted/{entry_id}/", creds=creds)


# -- cleanup policies ------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    keep_last: int | None
    older_than_days: int | None
    keep_patterns: list[str]
    keep_pulled_days: int | None
    enabled: bool
    may_empty_images: bool
    updated: datetime | None
    updated_by: str


@dataclass(frozen=True)
class PolicyRun:
    started: datetime | None
    removed: list[dict]
    removed_bytes: int
    error: str


@dataclass(frozen=True)
class PolicyPage:
    policy: Policy | None
    runs: list[PolicyRun]
    storage_size: int = 0  # of what it governs, layers shared by tags counted once


@dataclass(frozen=True)
class GoingTag:
    name: str
    size: int | None
    pushed_at: datetime | None
    last_pulled: datetime | None


@dataclass(frozen=True)
class PreviewImage:
    image: str
    total: int
    tags: list[GoingTag]


@dataclass(frozen=True)
class PolicyPreview:
    count: int
    size: int
    freed: int
    emptied_images: list[str]
    images: list[PreviewImage]


def _policy_path(*, image: str = "", namespace: str = "") -> str:
    if image:
        return f"/api/v1/image/{_path(image)}/cleanup-policy/"
    return f"/api/v1/namespace/{quote(namespace, safe='')}/cleanup-policy/"


def get_policy(creds: Credentials, *, image: str = "", namespace: str = "") -> PolicyPage:
    body = _request("GET", _policy_path(image=image, namespace=namespace), creds=creds)
    policy = body.get("policy")
    return PolicyPage(
        policy=None
        if policy is None
        else Policy(
            keep_last=policy.get("keep_last"),
            older_than_days=policy.get("older_than_days"),
            keep_patterns=list(policy.get("keep_patterns") or []),
            keep_pulled_days=policy.get("keep_pulled_days"),
            enabled=bool(policy.get("enabled")),
            may_empty_images=bool(policy.get("may_empty_images")),
            updated=parse_date(policy.get("updated")),
            updated_by=policy.get("updated_by") or "",
        ),
        runs=[
            PolicyRun(
                started=parse_date(run.get("started")),
                removed=list(run.get("removed") or []),
                removed_bytes=int(run.get("removed_bytes") or 0),
                error=run.get("error") or "",
            )
            for run in body.get("runs") or []
        ],
        storage_size=int(body.get("storage_size") or 0),
    )


def preview_policy(
    creds: Credentials, rules: dict, *, image: str = "", namespace: str = ""
) -> PolicyPreview:
    path = _policy_path(image=image, namespace=namespace) + "preview/"
    body = _request("POST", path, creds=creds, json=rules)
    return PolicyPreview(
        count=int(body.get("count") or 0),
        size=int(body.get("size") or 0),
        freed=int(body.get("freed") or 0),
        emptied_images=list(body.get("emptied_images") or []),
        images=[
            PreviewImage(
                image=item["image"],
                total=int(item.get("total") or 0),
                tags=[
                    GoingTag(
                        t["name"],
                        _size(t.get("size")),
                        parse_date(t.get("pushed_at")),
                        parse_date(t.get("last_pulled")),
                    )
                    for t in item.get("tags") or []
                ],
            )
            for item in body.get("images") or []
        ],
    )


def save_policy(creds: Credentials, rules: dict, *, image: str = "", namespace: str = "") -> None:
    _request("PUT", _policy_path(image=image, namespace=namespace), creds=creds, json=rules)


def delete_policy(creds: Credentials, *, image: str = "", namespace: str = "") -> None:
    _request("DELETE", _policy_path(image=image, namespace=namespace), creds=creds)
