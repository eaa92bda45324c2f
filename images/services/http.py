"""The transport every resource module uses: one session per thread, typed errors with
sentences a person reads, credentials, pages of results and the small parsers they share."""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lib import client_address

T = TypeVar("T")
# A page of a list the admin pages through (images, tags, the recycle bin).
PAGE_SIZE = 25
# Lists the admin shows whole on one page (teams, members, invitations, tokens, people): one
# request for at most this many.
LIST_LIMIT = 100


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


class UpstreamUnavailable(ServiceError):
    """The API answered, but something it needed could not be reached (a registry, Docker
    Hub): a 502 whose message is the API's own sentence, naming it."""


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
class Credentials:
    username: str
    key: str = field(repr=False)
    # The browser's address, vouched for on changes so the API's audit trail says where a
    # change came from (not the admin's own address).
    browser_address: str = ""

    @property
    def header(self) -> str:
        return f"ApiKey {self.username}:{self.key}"


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


def page(body: dict, parse: Callable[[dict], T], *, keyed: bool = False) -> Page[T]:
    """A Tutum list answer (`meta` and `objects`) as a Page of parsed items."""
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


def listed(
    path: str, parse: Callable[[dict], T], *, creds: Credentials, limit: int = LIST_LIMIT
) -> list[T]:
    """A list read whole in one request (`limit` 0: every item, where the API allows it)."""
    body = call("GET", path, creds=creds, params={"limit": limit})
    return [parse(item) for item in body.get("objects") or []]


def parse_date(value: str | None) -> datetime | None:
    """Tutum's RFC 2822 dates (`Fri, 8 Nov 2013 00:22:26 +0000`) as aware datetimes."""
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def parse_size(value) -> int | None:
    """A size in bytes, or None when the answer has none (another Tutum server)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


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


def call(
    method: str,
    path: str,
    *,
    creds: Credentials,
    params: dict | None = None,
    json: dict | None = None,
) -> dict | None:
    """A signed-in call; the answer's JSON (None for 204), or the error it stands for."""
    headers = {"Authorization": creds.header}
    if method != "GET" and creds.browser_address:
        headers[client_address.HEADER] = client_address.vouch(creds.browser_address)
    return handle(send(method, path, headers=headers, params=params, json=json))


def public(method: str, path: str, browser_address: str, json: dict | None = None) -> dict:
    """A call anyone may make without signing in (joining, reset emails); the browser's
    address, vouched for, is what the API's rate limits count."""
    headers = {}
    if browser_address:
        headers[client_address.HEADER] = client_address.vouch(browser_address)
    return handle(send(method, path, headers=headers, json=json)) or {}


def send(method: str, path: str, *, headers: dict, params=None, json=None) -> requests.Response:
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


def handle(response: requests.Response) -> dict | None:
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
    if status == 502 and message:
        # Our API is up and says what it could not reach. A 502 without its sentence is a
        # proxy in front of the API saying the API itself is down.
        raise UpstreamUnavailable(message)
    if status >= 500:
        raise ApiUnavailable(message or "The image service had a problem. Please try again.")
    raise ApiError(message or f"The image service refused the request ({status}).")
