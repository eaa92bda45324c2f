"""The outbound policy: every request the server makes to a place a person named.

Other registries, the token services and blob redirects they name, public-image look-ups and
any later user-entered URL go through `send`, which

- speaks http and https only;
- resolves the host itself, refuses it when any of its addresses is loopback, link-local
  (the cloud metadata address among them), private, unspecified, multicast, reserved or not
  globally routable (IPv4-mapped and embedded IPv6 forms too), or one of our own services
  (`REGISTRY_URL`, `API_PUBLIC_URL`, `ADMIN_PUBLIC_URL`), and then connects to the very
  address it checked, so a name cannot resolve to another one in between (DNS rebinding);
  unless the host, or host:port, is listed in `OUTBOUND_ALLOW` or `INSECURE_REGISTRIES`;
- follows a bounded number of redirects itself, checking each hop the same way and sending
  credentials only to the origin they were meant for;
- stops at an overall deadline (a per-read timeout alone lets a server that answers a byte at
  a time hold a request worker forever) and at a size limit.

The operator's own base URLs (our registry, the configured public registry) are trusted as
`trusted` origins: they may be on loopback or a private network; where they redirect is not.

Written here rather than taken from a library: advocate, the requests SSRF wrapper, has not
been released since 2020, and requests-hardened's filter is one switch for all hosts (allow
loopback or not), with no allow-list by host:port, no notion of our own services and no
overall deadline. The check is small and sits in one urllib3 connection method.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import logging
import os
import socket
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from time import monotonic
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
# What one answer may hold: registry manifests, configs, tag lists and tokens are kilobytes.
MAX_BODY = 4 * 1024 * 1024

Origin = tuple[str, int]  # (host, port), the host lowercase and without IPv6 brackets

_DENIED_NETWORKS = [
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 the unspecified address
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT; Alibaba's metadata service is 100.100.100.200
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, the cloud metadata address 169.254.169.254
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",  # reserved, 255.255.255.255 among them
        "::/128",
        "::1/128",
        "fc00::/7",  # unique local, AWS's IPv6 metadata address fd00:ec2::254 among them
        "fe80::/10",
        "ff00::/8",
    )
]


class Refused(OSError):
    """The policy refuses this destination. An OSError, so that urllib3 and requests report it
    as a connection that failed, as every unreachable host is."""


class Unreachable(Exception):
    """The request did not get an answer: refused by the policy, by the host, timed out, too
    many redirects. `reason` is for the server's log only; people get one sentence for all of
    them, so that the server cannot be used to tell a closed port from a filtered one."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class TooLarge(Exception):
    """The answer was bigger than the caller's limit."""


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(value.split("%", 1)[0])  # an IPv6 zone is not part of it


def denied_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is one the policy never reaches (unless its host is allowed)."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address written as IPv6 reaches that IPv4 address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return denied_address(embedded)
    same_family = (n for n in _DENIED_NETWORKS if n.version == address.version)
    if any(address in network for network in same_family):
        return True
    # Documentation, benchmarking and other special ranges the list above does not name.
    return not address.is_global


def origin_of(url: str) -> Origin:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return host, port or (443 if parts.scheme == "https" else 80)


def host_entry(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def is_allowed(host: str, port: int) -> bool:
    """Whether the operator listed this host (any port) or host:port as reachable."""
    entries = {e.lower() for e in [*settings.OUTBOUND_ALLOW, *settings.INSECURE_REGISTRIES]}
    name = host_entry(host.lower())
    return name in entries or f"{name}:{port}" in entries


@lru_cache(maxsize=8)
def _service_addresses(urls: tuple[str, ...], _minute: int) -> frozenset[tuple[str, int]]:
    """Our own services' (address, port) pairs, resolved at most once a minute."""
    found = set()
    for url in urls:
        host, port = origin_of(url)
        found.add((host, port))
        try:
            for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
                found.add((str(_ip(sockaddr[0])), port))
        except OSError:
            continue
    return frozenset(found)


def _own_services() -> frozenset[tuple[str, int]]:
    urls = (settings.REGISTRY_URL, settings.API_PUBLIC_URL, settings.ADMIN_PUBLIC_URL)
    return _service_addresses(urls, int(monotonic() // 60))


@dataclass
class _Guard:
    """One request's policy state: its trusted origins and its deadline."""

    trusted: frozenset[Origin] = frozenset()
    deadline: float = float("inf")
    expired: bool = False
    sockets: list[socket.socket] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self.lock:
            if self.expired:
                raise Unreachable("it did not answer in time")
            self.sockets.append(sock)

    def expire(self) -> None:
        """The deadline passed: cut the connections, which ends whatever read is waiting."""
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # already closed: nothing to cut
                    sock.shutdown(socket.SHUT_RDWR)

    def remaining(self) -> float:
        return self.deadline - monotonic()


_guard: contextvars.ContextVar[_Guard | None] = contextvars.ContextVar("outbound_guard")


def _current_guard() -> _Guard:
    # A connection opened outside `send` gets the policy without trust or deadline.
    return _guard.get(None) or _Guard()


def vetted_addresses(host: str, port: int, trusted: Collection[Origin] = ()) -> list[tuple]:
    """`host`'s addresses as getaddrinfo gives them, after the policy's check: raises Refused
    before any connection is attempted when the host may not be reached."""
    host = host.lower().strip("[]")
    found = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    if (host, port) in trusted or is_allowed(host, port):
        return found
    own = _own_services()
    if (host, port) in own:
        raise Refused(f"{host}:{port} is one of this server's own services")
    for *_, sockaddr in found:
        address = _ip(sockaddr[0])
        if denied_address(address):
            raise Refused(f"{host} resolves to {address}, which is not a public address")
        if (str(address), port) in own:
            raise Refused(f"{host}:{port} is one of this server's own services")
    return found


class _PolicyConnectionMixin:
    """Resolves and checks the host itself, then connects to an address it checked."""

    def _new_conn(self) -> socket.socket:
        guard = _current_guard()
        timeout = self.timeout
        if guard.deadline != float("inf"):
            left = max(guard.remaining(), 0.001)
            timeout = left if not isinstance(timeout, int | float) else min(timeout, left)
        try:
            candidates = vetted_addresses(self.host, self.port, guard.trusted)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        except Refused as error:
            raise NewConnectionError(self, f"refused by the outbound policy: {error}") from error
        last_error: OSError | None = None
        for *_, sockaddr in candidates:
            try:
                sock = create_connection(
                    (sockaddr[0], self.port),
                    timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as error:
                raise ConnectTimeoutError(self, f"connecting to {self.host} timed out") from error
            except OSError as error:
                last_error = error
                continue
            try:
                guard.watch(sock)
            except Unreachable:
                sock.close()
                raise ConnectTimeoutError(self, f"{self.host} did not answer in time") from None
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")

    def request(self, *args, **kwargs):
        # A kept-alive connection counts against this request's deadline too.
        _current_guard().watch(self.sock)
        return super().request(*args, **kwargs)


class _HTTPConnection(_PolicyConnectionMixin, HTTPConnection):
    pass


class _HTTPSConnection(_PolicyConnectionMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _PolicyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def session() -> requests.Session:
    """A requests session whose every connection goes through the policy."""
    new = requests.Session()
    # No proxies or .netrc from the environment: a proxy would resolve names where the policy
    # cannot see, and .netrc would hand out credentials. The CA bundle requests would read
    # from it still counts (a registry on the company network may have the company's CA).
    new.trust_env = False
    new.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    adapter = _PolicyAdapter()
    new.mount("http://", adapter)
    new.mount("https://", adapter)
    return new


def send(
    client: requests.Session,
    method: str,
    url: str,
    *,
    headers: dict | None = None,
    auth: tuple[str, str] | None = None,
    credentials_for: Origin | None = None,
    trusted: Iterable[Origin] = (),
    timeout: float,
    max_bytes: int = MAX_BODY,
    truncate: bool = False,
    **kwargs,
) -> requests.Response:
    """One request and the redirects it leads to, read in full within `timeout` seconds.

    `auth` and the `Authorization` header go only to `credentials_for` (the origin of `url`
    when not given); redirects are followed for GET and HEAD only. Raises Unreachable for
    any request that got no answer, TooLarge for an answer over `max_bytes` (unless
    `truncate`: then its first `max_bytes` are kept and the rest is not read).
    """
    credentials_for = credentials_for or origin_of(url)
    guard = _Guard(trusted=frozenset(trusted), deadline=monotonic() + timeout)
    token = _guard.set(guard)
    timer = threading.Timer(timeout, guard.expire)
    timer.daemon = True
    timer.start()
    try:
        for _ in range(MAX_REDIRECTS + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise Unreachable(f"{url} is not an http or https URL")
            own = origin_of(url) == credentials_for
            hop_headers = dict(headers or {})
            if not own:
                hop_headers = {k: v for k, v in hop_headers.items() if k.lower() != "authorization"}
            response = _exchange(
                client,
                guard,
                method,
                url,
                headers=hop_headers,
                auth=auth if own else None,
                **kwargs,
            )
            if not (response.is_redirect and method in ("GET", "HEAD")):
                return _read(response, guard, max_bytes, method, truncate)
            url = urljoin(response.url, response.headers["Location"])
            response.close()
            # The query went with the first request; a redirect's URL carries its own.
            kwargs.pop("params", None)
        raise Unreachable(f"more than {MAX_REDIRECTS} redirects")
    finally:
        timer.cancel()
        _guard.reset(token)


def _exchange(client, guard: _Guard, method: str, url: str, **kwargs) -> requests.Response:
    left = guard.remaining()
    if left <= 0:
        raise Unreachable("it did not answer in time")
    try:
        return client.request(
            method, url, timeout=left, stream=True, allow_redirects=False, **kwargs
        )
    except requests.RequestException as error:
        if guard.expired:
            raise Unreachable("it did not answer in time") from error
        raise Unreachable(str(error)) from error


def _read(response: requests.Response, guard: _Guard, max_bytes: int, method: str, truncate: bool):
    """The whole body, or TooLarge past `max_bytes` (its start when `truncate`); stored where
    `.content` finds it."""
    if method == "HEAD":
        response._content = b""
        return response
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes and not truncate:
        response.close()
        raise TooLarge(f"the answer is {declared} bytes")
    body = bytearray()
    try:
        for chunk in response.iter_content(min(64 * 1024, max_bytes + 1)):
            body += chunk
            if len(body) > max_bytes:
                response.close()
                if truncate:
                    del body[max_bytes:]
                    break
                raise TooLarge(f"the answer is over {max_bytes} bytes")
    except requests.RequestException as error:
        if guard.expired:
            raise Unreachable("it did not answer in time") from error
        raise Unreachable(str(error)) from error
    finally:
        response.close()
    if guard.expired:
        raise Unreachable("it did not answer in time")
    response._content = bytes(body)
    return response


def refusal(url: str) -> str:
    """Why the policy would refuse a request to `url`, in one sentence a person can act on;
    "" when it would send it. For URLs people save (webhooks), checked again on every send:
    what a name resolves to can change."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Use an http:// or https:// URL with a host name."
    try:
        host, port = origin_of(url)
        if parts.port is None and ":" in (parts.netloc.rsplit("@", 1)[-1].rsplit("]", 1)[-1]):
            return "The port in this URL is not a number from 1 to 65535."
    except ValueError:
        return "The port in this URL is not a number from 1 to 65535."
    try:
        vetted_addresses(host, port)
    except socket.gaierror:
        return f"No host named {host} could be found: check the URL."
    except Refused:
        return (
            f"{host_entry(host)}:{port} is a loopback, link-local or private address, or this "
            "server itself, which this server does not send requests to. Use a public address "
            "(or ask an administrator to allow this host with OUTBOUND_ALLOW)."
        )
    except (OSError, UnicodeError):
        return f"No host named {host} could be found: check the URL."
    return ""
