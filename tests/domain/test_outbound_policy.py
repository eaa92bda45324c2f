"""The outbound policy (lib/outbound.py): what a registry a person names can make us do.

A hostile registry, started here on loopback and allowed as a person's INSECURE_REGISTRIES
entry would be, tries to send the server to an "internal" server (also on loopback, not
allowed) that records every request it receives: none may reach it, no credentials may leave
the registry's host, nothing the hostile registry serves may be stored, and the API answers
one plain sentence naming the field.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lib import outbound
from records.models import Image, Tag
from registry import client as oci
from tests.fixtures.ports import free_port

pytestmark = [pytest.mark.django_db]

UNREACHABLE = (
    "could not reach registry {host}: check the name, and that it is a registry reachable "
    "from this server"
)
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
CONFIG = json.dumps(
    {"author": "hostile-author", "os": "linux", "config": {"Env": ["FROM=hostile"]}}
).encode()
INTERNAL_JSON = {
    "author": "internal-author",
    "os": "internal-os",
    "config": {"Env": ["AWS_SECRET_ACCESS_KEY=internal"]},
    "token": "internal-token",
}


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict | None = None


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def _handle(self) -> None:
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        answer = self.server.respond(self)
        if answer is None:  # the responder wrote (or dribbled) its own answer
            return
        self.send_response(answer.status)
        for key, value in (answer.headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_HEAD = do_POST = _handle


class Server(ThreadingHTTPServer):
    """An HTTP server on loopback in a thread, recording (method, path, headers) it gets."""

    daemon_threads = True

    def __init__(self, respond: Callable[[BaseHTTPRequestHandler], Answer | None]):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.respond = respond
        self.requests: list[tuple[str, str, dict]] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"


@pytest.fixture
def internal() -> Iterator[Server]:
    """What the hostile registry points at: never to be reached."""
    server = Server(lambda _: Answer(body=json.dumps(INTERNAL_JSON).encode()))
    yield server
    server.shutdown()
    server.server_close()


class HostileRegistry(Server):
    """A registry for `x/y:latest` whose tricks a test switches on."""

    def __init__(self, internal: Server):
        self.internal = internal
        self.realm = ""  # a Bearer realm to name on /v2/
        self.redirect_blobs = False
        self.config_digest = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
        self.manifest_digest_header = ""
        self.dribble_seconds = 0.0
        super().__init__(self.answer)

    def manifest(self) -> bytes:
        return json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": oci.OCI_MANIFEST,
                "config": {
                    "mediaType": OCI_CONFIG,
                    "digest": self.config_digest,
                    "size": len(CONFIG),
                },
                "layers": [],
            }
        ).encode()

    def answer(self, request: BaseHTTPRequestHandler) -> Answer | None:
        path = request.path.split("?")[0]
        if self.dribble_seconds:
            return self._dribble(request)
        if self.realm:
            challenge = f'Bearer realm="{self.realm}",service="hostile"'
            return Answer(401, b"{}", {"WWW-Authenticate": challenge})
        if path == "/v2/":
            return Answer()
        if path == "/v2/x/y/tags/list":
            return Answer(body=b'{"name": "x/y", "tags": ["latest"]}')
        if path.startswith("/v2/x/y/manifests/"):
            body = self.manifest()
            digest = self.manifest_digest_header or "sha256:" + hashlib.sha256(body).hexdigest()
            headers = {"Content-Type": oci.OCI_MANIFEST, "Docker-Content-Digest": digest}
            return Answer(body=body, headers=headers)
        if path.startswith("/v2/x/y/blobs/"):
            if self.redirect_blobs:
                return Answer(302, b"", {"Location": f"{self.internal.url}/internal-json"})
            return Answer(body=CONFIG)
        return Answer(404, b"{}")

    def _dribble(self, request: BaseHTTPRequestHandler) -> None:
        """Headers a byte at a time: each read gets something, so no read ever times out."""
        request.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        deadline = time.monotonic() + self.dribble_seconds
        try:
            while time.monotonic() < deadline:
                request.wfile.write(b"a")
                request.wfile.flush()
                time.sleep(0.2)
            request.wfile.write(b"\r\nContent-Length: 2\r\n\r\n{}")
        except OSError:
            pass  # the client gave up, as it should


@pytest.fixture
def hostile(internal, settings) -> Iterator[HostileRegistry]:
    server = HostileRegistry(internal)
    # The person's registry is allowed (as an INSECURE_REGISTRIES entry would be); the internal
    # server is not.
    settings.INSECURE_REGISTRIES = [*settings.INSECURE_REGISTRIES, server.host]
    yield server
    server.shutdown()
    server.server_close()


def _register(api, name: str, **fields):
    return api.post("/api/v1/image/", {"name": name, **fields})


def test_a_realm_on_another_host_gets_no_credentials(api, hostile, internal):
    hostile.realm = f"{internal.url}/latest/meta-data/iam"
    name = f"{hostile.host}/x/y"

    response = _register(api, name, username="alice", password="alices-registry-password")

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "name": [
            f"registry {hostile.host} asks for logins at another host ({internal.host}), which "
            "this server does not contact for it; an administrator can allow that host "
            "(OUTBOUND_ALLOW)"
        ]
    }
    assert internal.requests == []
    assert not any("Authorization" in headers for _, _, headers in hostile.requests)
    assert not Image.objects.filter(name=name).exists()


def test_an_allowed_realm_on_another_host_still_gets_no_password(api, hostile, internal, settings):
    settings.OUTBOUND_ALLOW = [internal.host]
    hostile.realm = f"{internal.url}/token"

    response = _register(
        api, f"{hostile.host}/x/y", username="alice", password="alices-registry-password"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["password"] == [
        f"registry {hostile.host} asks for the password at another host ({internal.host}); "
        "this server sends a registry's password only to that registry's own host"
    ]
    assert not any("Authorization" in headers for _, _, headers in internal.requests)


def _public_tag(api, name: str):
    """A public image on the hostile registry with a tag whose layer is read when viewed."""
    created = _register(api, name, is_private_image=False)
    assert created.status_code == 201, created.json()
    Tag.objects.create(image=Image.objects.get(name=name), name="latest")
    return api.get(f"/api/v1/image/{name}/tag/latest/")


def test_a_blob_redirect_to_an_internal_address_is_not_followed(api, hostile, internal):
    hostile.redirect_blobs = True
    name = f"{hostile.host}/x/y"

    response = _public_tag(api, name)

    assert response.status_code == 200
    assert response.json()["layer"] is None
    assert "internal" not in response.content.decode()
    assert internal.requests == []
    assert Tag.objects.get(image__name=name, name="latest").layer_id is None


def test_a_configured_public_registry_is_trusted_but_not_where_it_redirects(
    api, internal, settings
):
    """The public registry is the operator's setting (reached although it is on loopback
    here); a redirect away from it is checked like any other request."""
    server = HostileRegistry(internal)
    server.redirect_blobs = True
    settings.PUBLIC_REGISTRY_URL = server.url
    try:
        assert api.get("/api/v1/image/x/y/").status_code == 200
        response = api.get("/api/v1/image/x/y/tag/latest/")
    finally:
        server.shutdown()
        server.server_close()

    assert response.json()["layer"] is None
    assert internal.requests == []


def test_a_config_that_does_not_match_its_digest_is_not_stored(api, hostile):
    hostile.config_digest = "sha256:" + "a" * 64
    name = f"{hostile.host}/x/y"

    response = _public_tag(api, name)

    assert response.json()["layer"] is None
    assert "hostile" not in response.content.decode()
    assert Tag.objects.get(image__name=name, name="latest").layer_id is None
    client = oci.RegistryClient(hostile.url, host=hostile.host)
    with pytest.raises(oci.RegistryProtocolError) as refused:
        client.get_manifest("x/y", "latest")
    assert str(refused.value) == (
        f"registry {hostile.host} sent an image config for x/y:latest that does not match its "
        f"digest sha256:{'a' * 64}"
    )


def test_a_manifest_that_does_not_match_its_digest_is_refused(hostile):
    hostile.manifest_digest_header = "sha256:" + "b" * 64
    client = oci.RegistryClient(hostile.url, host=hostile.host)

    with pytest.raises(oci.RegistryProtocolError, match="does not match its digest"):
        client.get_manifest("x/y", "latest")
    with pytest.raises(oci.RegistryProtocolError, match="does not match its digest"):
        client.manifest_bytes("x/y", "sha256:" + "c" * 64)


def test_a_slow_registry_does_not_hold_the_request(api, hostile, settings):
    settings.REGISTRY_TIMEOUT = 1.0
    hostile.dribble_seconds = 12
    name = f"{hostile.host}/x/y"

    started = time.monotonic()
    response = _register(api, name)
    took = time.monotonic() - started

    assert took < 5
    assert response.status_code == 400
    assert response.json()["fields"]["name"] == [UNREACHABLE.format(host=hostile.host)]


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:{port}", "localhost:{port}", "169.254.169.254", "169.254.169.254:80"],
)
def test_loopback_and_link_local_names_are_refused_before_any_connection(
    api, internal, settings, host
):
    settings.REGISTRY_TIMEOUT = 0.5  # should the policy fail, do not wait on the network
    host = host.format(port=internal.server_address[1])

    response = _register(api, f"{host}/x/y", username="u", password="p")

    assert response.status_code == 400
    assert response.json()["fields"] == {"name": [UNREACHABLE.format(host=host)]}
    assert internal.requests == []
    assert not Image.objects.exists()


def test_a_closed_port_and_an_open_non_registry_port_read_the_same(api, settings):
    not_a_registry = Server(lambda _: Answer(404, b"<html>not found</html>"))
    closed = f"127.0.0.1:{free_port()}"
    unlisted = Server(lambda _: Answer(404, b"<html>not found</html>"))
    settings.INSECURE_REGISTRIES = [closed, not_a_registry.host]
    try:
        answers = {
            host: _register(api, f"{host}/x/y").json()["fields"]["name"]
            for host in (closed, not_a_registry.host, unlisted.host)
        }
    finally:
        for server in (not_a_registry, unlisted):
            server.shutdown()
            server.server_close()

    assert answers == {host: [UNREACHABLE.format(host=host)] for host in answers}
    assert unlisted.requests == []


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "::ffff:127.0.0.1",
        "fd00:ec2::254",
        "100.100.100.200",
        "0.0.0.0",
        "::",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "224.0.0.1",
        "fe80::1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_internal_addresses_are_denied_in_every_form(address):
    assert outbound.denied_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_not_denied(address):
    assert not outbound.denied_address(ipaddress.ip_address(address))


def test_our_own_services_are_refused_unless_allowed(settings):
    settings.API_PUBLIC_URL = "http://127.0.0.1:8123"

    with pytest.raises(outbound.Refused, match="one of this server's own services"):
        outbound.vetted_addresses("127.0.0.1", 8123)
    settings.OUTBOUND_ALLOW = ["127.0.0.1:8123"]
    assert outbound.vetted_addresses("127.0.0.1", 8123)


@pytest.mark.registry
def test_a_public_image_behind_a_login_reads_its_layer_with_the_saved_login(
    api, htpasswd_registry, buildah
):
    creds = f"{htpasswd_registry.username}:{htpasswd_registry.password}"
    buildah.push(buildah.build_base(), f"{htpasswd_registry.host}/team/open:latest", creds)
    name = f"{htpasswd_registry.host}/team/open"
    created = _register(
        api,
        name,
        username=htpasswd_registry.username,
        password=htpasswd_registry.password,
        is_private_image=False,
    )
    assert created.status_code == 201, created.json()
    Tag.objects.create(image=Image.objects.get(name=name), name="latest")

    tag = api.get(f"/api/v1/image/{name}/tag/latest/").json()

    assert tag["state"] == "Success"
    assert tag["layer"] is not None
