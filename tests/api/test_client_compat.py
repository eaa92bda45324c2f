"""Tutum's own clients, replayed byte for byte against the live API.

Each sequence is what the client really sends (read from its source and captured on the wire:
the tutum CLI 0.21.1, python-tutum 0.21.2, go-tutum 0.17.28), with its exact headers and
bodies, and each answer is checked the way that client decodes it: python-tutum needs a JSON
object with a string `name` on every image; go-tutum decodes strictly into typed structs and
treats any status above 300 as an error.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import Client

from records.models import Build, Image
from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)

CLI_AGENT = "tutum-cli/0.21.1 python-tutum/0.21.2"
PYTHON_AGENT = "python-tutum/0.21.2"
GO_AGENT = "go-tutum/0.16.0"  # what go-tutum 0.17.28 calls itself


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)


class Wire:
    """Requests with exactly the given headers (http.client adds Host, and Content-Length when
    there is a body, as the clients' own HTTP stacks do)."""

    def __init__(self, base_url: str):
        self.netloc = urlsplit(base_url).netloc
        self.log: list[tuple[str, str]] = []

    def send(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Reply:
        path = url[url.index("/api/") :] if "://" in url else url
        self.log.append((method, path))
        connection = http.client.HTTPConnection(self.netloc, timeout=30)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()


def basic(username: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()


# --- python-tutum 0.21.2 (and the CLI, which is built on it) --------------------------------


class PythonTutumError(Exception):
    pass


class PythonTutum:
    """python-tutum's `send_request` and its Image / ImageTag models, reduced to their wire."""

    def __init__(self, wire: Wire, rest_host: str, authorization: str, agent=PYTHON_AGENT):
        self.wire, self.rest_host = wire, rest_host
        self.headers = {
            "Accept-Encoding": "identity",
            "Content-Type": "application/json",
            "Authorization": authorization,
            "User-Agent": agent,
        }

    def send(self, method: str, path: str, *, params=None, data: str | None = None):
        url = path if "://" in path else f"{self.rest_host}/api/v1/{path.strip('/')}"
        if not url.endswith("/"):
            url += "/"
        if params:
            # requests 2.7 encodes Python's True as "True".
            url += "?" + urlencode({k: str(v) for k, v in params.items()})
        body = (
            data.encode() if data is not None else (b"" if method in {"POST", "DELETE"} else None)
        )
        reply = self.wire.send(method, url, self.headers, body)
        if reply.status == 401:
            raise PythonTutumError("Not authorized")
        if not 200 <= reply.status <= 299:
            raise PythonTutumError(f"Status {reply.status} ({method} {url}). {reply.body!r}")
        if reply.status == 204:
            return None
        answer = reply.json()
        # python-tutum writes into the answer, so anything but an object is a TypeError to it.
        assert isinstance(answer, dict), answer
        answer["tutum_action_uri"] = reply.headers.get("X-Tutum-Action-URI", "")
        return answer

    def auth(self):
        return self.send("GET", "/auth")

    def image_list(self, **params) -> list[dict]:
        """`tutum.Image.list(**params)`: it pages with meta's offset and limit, not `next`."""
        objects = []
        while True:
            answer = self.send("GET", "/image", params=params)
            meta = answer.get("meta", {})
            objects.extend(answer.get("objects", []))
            if not meta.get("next"):
                break
            params = {**params, "offset": meta.get("offset", 0) + meta.get("limit", 0)}
            params["limit"] = meta.get("limit", 0)
        for image in objects:
            assert isinstance(image["name"], str)  # its `_loaddict` joins it into a URL
        return objects

    def image_fetch(self, name: str) -> dict:
        return self.send("GET", "/".join(["/image", name]))

    def image_save(self, changes: dict, name: str | None = None) -> dict:
        """`Image.save()`: POST for a new image, else PATCH with only the changed fields."""
        if name is None:
            return self.send("POST", "/image", data=json.dumps(changes))
        return self.send("PATCH", "/".join(["/image", name]), data=json.dumps(changes))

    def image_delete(self, name: str):
        return self.send("DELETE", "/".join(["/image", name]))

    def tag_fetch(self, name: str, tag: str) -> dict:
        return self.send("GET", f"{self.rest_host}/api/v1/image/{name}/tag/{tag}/")

    def tag_build(self, tag: dict) -> dict:
        return self.send("POST", self.rest_host + tag["resource_uri"].rstrip("/") + "/build/")


class Cli:
    """The tutum CLI 0.21.1: `GET /auth/` before every command, then python-tutum's calls."""

    TAG_URI = re.compile("/api/v1/image/.*/tag/(.*)/")

    def __init__(self, wire: Wire, rest_host: str, authorization: str):
        self.api = PythonTutum(wire, rest_host, authorization, agent=CLI_AGENT)

    def run(self, command):
        self.api.auth()  # a 401 here is "Not Authorized, Please login"
        return command()

    def image_list(self) -> list[list]:
        def command():
            rows = []
            for image in self.api.image_list(is_user_image=True):
                description = image["description"]
                if description and len(description) > 40:
                    description = description[:36] + " ..."
                rows.append(
                    [
                        image["name"],
                        len(image["tags"]),
                        "yes" if image["in_use"] else "no",
                        "yes" if image["is_private_image"] else "no",
                        "yes" if image["build_source"] else "no",
                        description,
                    ]
                )
            return rows

        return self.run(command)

    def image_inspect(self, name: str) -> dict:
        return self.run(lambda: self.api.image_fetch(name))

    def image_register(self, name: str, username: str, password: str, description=None) -> str:
        body = {"username": username, "password": password, "name": name}
        if description is not None:
            body["description"] = description
        return self.run(lambda: self.api.image_save(body)["name"])

    def image_update(self, name: str, **changes) -> str:
        def command():
            image = self.api.image_fetch(name)
            changed = {k: v for k, v in changes.items() if image.get(k) != v}
            if changed:
                image = self.api.image_save(changed, name=image["name"])
            return image["name"]

        return self.run(command)

    def image_rm(self, name: str) -> None:
        def command():
            image = self.api.image_fetch(name)
            return self.api.image_delete(image["name"])

        return self.run(command)

    def image_tag_list(self) -> list[list[str]]:
        def command():
            rows = []
            for image in self.api.image_list(is_user_image=True):
                tags = [m.group(1) for uri in image["tags"] if (m := self.TAG_URI.search(uri))]
                rows.append([image["name"], ", ".join(sorted(tags))])
            return rows

        return self.run(command)

    @staticmethod
    def _split(identifier: str) -> tuple[str, str]:
        # The CLI's own split, at the first ':' (so a registry port lands in the tag).
        terms = identifier.split(":", 1)
        return (terms[0], terms[1]) if len(terms) == 2 else (terms[0], "latest")

    def image_tag_inspect(self, identifier: str) -> dict:
        return self.run(lambda: self.api.tag_fetch(*self._split(identifier)))

    def image_tag_build(self, identifier: str) -> dict:
        return self.run(lambda: self.api.tag_build(self.api.tag_fetch(*self._split(identifier))))


# --- go-tutum 0.17.28 ------------------------------------------------------------------------


class GoDecodeError(Exception):
    pass


def go_unmarshal(value, go_type, where: str = "$"):
    """encoding/json's rules for the structs below: unknown keys are ignored, null leaves a
    field as it is, and any other type mismatch is an error."""
    if value is None:
        return
    if isinstance(go_type, dict):
        if not isinstance(value, dict):
            raise GoDecodeError(f"{where}: cannot unmarshal {type(value).__name__} into struct")
        for key, field_type in go_type.items():
            if key in value:
                go_unmarshal(value[key], field_type, f"{where}.{key}")
    elif isinstance(go_type, list):
        if not isinstance(value, list):
            raise GoDecodeError(f"{where}: cannot unmarshal {type(value).__name__} into slice")
        for index, item in enumerate(value):
            go_unmarshal(item, go_type[0], f"{where}[{index}]")
    elif go_type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GoDecodeError(f"{where}: cannot unmarshal {value!r} into int")
    elif not isinstance(value, go_type) or (go_type is not bool and isinstance(value, bool)):
        raise GoDecodeError(f"{where}: cannot unmarshal {value!r} into {go_type.__name__}")


GO_BUILD_SETTINGS = {"autobuild": bool, "branch": str, "dockerfile": str, "tag": str}
GO_BUILD_SOURCE = {
    "autotest": str,
    "build_settings": [GO_BUILD_SETTINGS],
    "owner": str,
    "repository": str,
    "type": str,
}
GO_IMAGE = {
    "build_source": GO_BUILD_SOURCE,
    "description": str,
    "registry": str,
    "icon_url": str,
    "in_use": bool,
    "is_private_image": bool,
    "jumpstart": bool,
    "last_build_date": str,
    "name": str,
    "public_url": str,
    "resource_uri": str,
    "star_count": int,
    "state": str,
    "tags": [str],
}
GO_IMAGE_LIST = {"meta": {"limit": int, "next": str, "total_count": int}, "objects": [GO_IMAGE]}
GO_LAYER = {
    "author": str,
    "creation": str,
    "docker_id": str,
    "entrypoint": str,
    "envvars": [{"key": str, "value": str}],
    "ports": [{"port": int, "protocol": str}],
    "resource_uri": str,
    "run_command": str,
    "volumes": [{"container_path": str}],
}
GO_IMAGE_TAGS = {
    "buildable": bool,
    "full_name": str,
    "layer": GO_LAYER,
    "image": str,
    "name": str,
    "resource_uri": str,
}


class GoTutum:
    """go-tutum's TutumCall: BaseUrl + url, no Content-Type, `{}` as the body of GET and DELETE."""

    def __init__(self, wire: Wire, rest_host: str, authorization: str):
        self.wire, self.base_url = wire, f"{rest_host}/api/v1/"
        self.headers = {
            "User-Agent": GO_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": "gzip",
            "Authorization": authorization,
        }

    def call(self, url: str, method: str, body: bytes = b"{}", go_type=None):
        reply = self.wire.send(method, self.base_url + url, self.headers, body)
        if reply.status > 300:
            raise GoDecodeError(f"Failed API call: {reply.status} {reply.body!r}")
        if go_type is None:
            return None
        data = reply.json()
        go_unmarshal(data, go_type)
        return data

    def list_images(self) -> dict:
        response = self.call("image/", "GET", go_type=GO_IMAGE_LIST)
        objects = list(response["objects"])
        while response["meta"]["next"]:
            response = self.call(response["meta"]["next"][8:], "GET", go_type=GO_IMAGE_LIST)
            objects.extend(response["objects"])
        return {"meta": response["meta"], "objects": objects}

    def get_image(self, name: str) -> dict:
        return self.call(f"image/{name}/", "GET", go_type=GO_IMAGE)

    def create_image(self, name: str, username: str = "", password: str = "") -> dict:
        # ImageCreateRequest of 0.17.28, marshalled in struct order (its `omniempty` typo
        # means password is always sent).
        request = {"build_source": {"build_settings": None, "repository": ""}, "name": name}
        if username:
            request["username"] = username
        request.update({"password": password, "description": ""})
        body = json.dumps(request, separators=(",", ":")).encode()
        return self.call("image/", "POST", body, go_type=GO_IMAGE)

    def update_image(self, name: str, description: str) -> None:
        body = json.dumps({"description": description}, separators=(",", ":")).encode()
        self.call(f"image/{name}/", "PATCH", body)  # the answer is not read

    def remove_image(self, name: str) -> None:
        self.call(f"image/{name}/", "DELETE")

    def get_image_tag(self, name: str, tag: str) -> dict:
        return self.call(f"image/{name}/tag/{tag}/", "GET", go_type=GO_IMAGE_TAGS)

    def build(self, tag: dict) -> dict:
        url = "image/" + tag["image"][14 : len(tag["image"]) - 1] + "/tag/" + tag["name"]
        return self.call(url + "/build/", "POST", go_type=GO_IMAGE_TAGS)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def wire(api_server) -> Wire:
    return Wire(api_server.url)


@pytest.fixture
def alices_images(alice, make_image) -> list[Image]:
    """27 images, so every client pages (25 a page); the first is built from git."""
    images = [make_image(alice, f"app{i:02}", tags=("latest", "v1")) for i in range(27)]
    api = ApiClient(alice.basic())
    response = api.patch(
        f"/api/v1/image/{images[0].name}/",
        {
            "description": "Built from acme/app00 by every push to main, as Tutum did it.",
            "build_source": {
                "repository": "app00",
                "build_settings": [{"tag": "latest", "branch": "main"}],
            },
        },
    )
    assert response.status_code == 200, response.content
    return images


CREDENTIALS = ["api key", "password"]


def cli_for(wire: Wire, api_server, alice, credentials: str) -> Cli:
    secret = alice.key if credentials == "api key" else alice.password
    return Cli(wire, api_server.url, basic(alice.username, secret))


# --- the tutum CLI ----------------------------------------------------------------------------


@pytest.mark.parametrize("credentials", CREDENTIALS)
def test_the_cli_lists_images_and_their_tags(wire, api_server, alice, alices_images, credentials):
    cli = cli_for(wire, api_server, alice, credentials)

    rows = cli.image_list()
    tag_rows = cli.image_tag_list()

    assert len(rows) == 27
    assert rows[0] == [
        alices_images[0].name,
        2,
        "no",
        "yes",
        "yes",
        "Built from acme/app00 by every push  ...",
    ]
    assert rows[1] == [alices_images[1].name, 2, "no", "yes", "no", ""]
    assert tag_rows[5] == [alices_images[5].name, "latest, v1"]
    # /auth/ before each command, and python-tutum's own paging with offset and limit.
    assert wire.log[:3] == [
        ("GET", "/api/v1/auth/"),
        ("GET", "/api/v1/image/?is_user_image=True"),
        ("GET", "/api/v1/image/?is_user_image=True&offset=25&limit=25"),
    ]


@pytest.mark.parametrize("credentials", CREDENTIALS)
def test_the_cli_inspects_registers_updates_and_removes_an_image(
    wire, api_server, alice, alices_images, credentials
):
    cli = cli_for(wire, api_server, alice, credentials)
    name = f"{settings.REGISTRY_HOST}/alice/fresh"

    inspected = cli.image_inspect(alices_images[0].name)
    registered = cli.image_register(name, "registry-user", "registry-pass", "Fresh")
    updated = cli.image_update(name, description="Fresher")
    unchanged = cli.image_update(name, description="Fresher")
    removed = cli.image_rm(name)

    assert inspected["name"] == alices_images[0].name
    assert inspected["build_source"]["owner"] == "alice"  # the namespace, by default
    assert registered == updated == unchanged == name
    assert removed is None
    assert not Image.objects.filter(name=name).exists()
    assert [call for call in wire.log if call[0] != "GET"] == [
        ("POST", "/api/v1/image/"),
        ("PATCH", f"/api/v1/image/{name}/"),
        ("DELETE", f"/api/v1/image/{name}/"),
    ]


@pytest.mark.parametrize("credentials", CREDENTIALS)
@pytest.mark.parametrize("suffix", [":latest", ""], ids=["with tag", "latest by default"])
def test_the_cli_inspects_and_builds_a_tag_of_a_name_with_a_port(
    wire, api_server, alice, alices_images, credentials, suffix
):
    cli = cli_for(wire, api_server, alice, credentials)
    name = alices_images[0].name  # 127.0.0.1:<port>/alice/app00

    inspected = cli.image_tag_inspect(name + suffix)
    built = cli.image_tag_build(name + suffix)

    host, port = settings.REGISTRY_HOST.split(":")
    odd_url = f"/api/v1/image/{host}/tag/{port}/alice/app00{suffix}/"
    assert ("GET", odd_url) in wire.log
    assert inspected["full_name"] == f"{name}:latest"
    assert inspected["resource_uri"] == f"/api/v1/image/{name}/tag/latest/"
    assert inspected["layer"]["docker_id"]
    assert built["state"] == "Building"
    assert wire.log[-1] == ("POST", f"/api/v1/image/{name}/tag/latest/build/")
    assert Build.objects.filter(tag__image=alices_images[0]).count() == 1


def test_the_cli_reads_a_login_saved_with_quotes(wire, api_server, alice, alices_images):
    # The CLI's "Please login" prompt writes basic_auth = "<base64>" quotes included.
    token = base64.b64encode(f"alice:{alice.password}".encode()).decode()
    cli = Cli(wire, api_server.url, f'Basic "{token}"')

    assert cli.image_inspect(alices_images[0].name)["name"] == alices_images[0].name


def test_the_cli_without_credentials_is_asked_to_log_in(wire, api_server, alice):
    cli = cli_for(wire, api_server, alice, "api key")
    cli.api.headers["Authorization"] = basic("alice", "not-the-password")

    with pytest.raises(PythonTutumError, match="Not authorized"):
        cli.image_list()


# --- python-tutum -----------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", ["basic", "apikey"], ids=["TUTUM_APIKEY", "TUTUM_AUTH"])
def test_python_tutum_pages_fetches_creates_patches_and_deletes(
    wire, api_server, alice, alices_images, authorization
):
    api = PythonTutum(wire, api_server.url, getattr(alice, authorization)())
    name = f"{settings.REGISTRY_HOST}/alice/library-made"

    listed = api.image_list()
    fetched = api.image_fetch(alices_images[3].name)
    created = api.image_save({"name": name, "description": "From python-tutum"})
    patched = api.image_save({"is_private_image": False}, name=name)
    deleted = api.image_delete(name)

    assert [image["name"] for image in listed] == sorted(image.name for image in alices_images)
    assert fetched["tags"] == [
        f"/api/v1/image/{alices_images[3].name}/tag/latest/",
        f"/api/v1/image/{alices_images[3].name}/tag/v1/",
    ]
    assert created["name"] == name and created["is_private_image"] is True
    # Only the changed field was sent; the description stays.
    assert patched["is_private_image"] is False
    assert patched["description"] == "From python-tutum"
    assert deleted is None


def test_python_tutum_fetches_and_builds_a_tag(wire, api_server, alice, alices_images):
    api = PythonTutum(wire, api_server.url, alice.basic())

    tag = api.tag_fetch(alices_images[0].name, "latest")
    built = api.tag_build(tag)

    assert tag["buildable"] is True and tag["state"] == "Success"
    assert tag["layer"]["ports"] == [{"port": 80, "protocol": "tcp"}]
    assert built["state"] == "Building"
    assert built["resource_uri"] == tag["resource_uri"]


# --- go-tutum ---------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", ["apikey", "basic"], ids=["0.17 ApiKey", "0.21 Basic"])
def test_go_tutum_follows_next_and_decodes_every_image(
    wire, api_server, alice, alices_images, authorization
):
    go = GoTutum(wire, api_server.url, getattr(alice, authorization)())

    listed = go.list_images()
    image = go.get_image(alices_images[0].name)

    assert len(listed["objects"]) == 27
    assert listed["meta"]["total_count"] == 27
    assert wire.log[1] == ("GET", "/api/v1/image/?limit=25&offset=25")
    assert image["build_source"]["build_settings"][0]["tag"].endswith("/tag/latest/")


def test_go_tutum_creates_updates_and_removes_without_a_content_type(wire, api_server, alice):
    go = GoTutum(wire, api_server.url, alice.apikey())
    name = f"{settings.REGISTRY_HOST}/alice/from-go"

    created = go.create_image(name)
    go.update_image(name, "Made by go-tutum")
    fetched = go.get_image(name)
    go.remove_image(name)

    assert created["name"] == name
    assert created["build_source"] is None  # the empty one 0.17 sends is no build source
    assert fetched["description"] == "Made by go-tutum"
    assert not Image.objects.filter(name=name).exists()


@pytest.mark.registry
def test_go_tutum_creates_an_image_on_another_registry_without_credentials(
    wire, api_server, alice, plain_registry, buildah
):
    go = GoTutum(wire, api_server.url, alice.apikey())
    name = f"{plain_registry.host}/team/public-app"
    buildah.push(buildah.build_base(), f"{name}:latest")

    created = go.create_image(name)

    assert created["name"] == name
    assert Image.objects.get(name=name).registry_password == ""


def test_go_tutum_gets_and_builds_a_tag(wire, api_server, alice, alices_images):
    go = GoTutum(wire, api_server.url, alice.apikey())

    tag = go.get_image_tag(alices_images[0].name, "latest")
    built = go.build(tag)

    assert tag["image"] == f"/api/v1/image/{alices_images[0].name}/"
    assert built["name"] == "latest"
    assert wire.log[-1] == ("POST", f"/api/v1/image/{alices_images[0].name}/tag/latest/build/")


def test_go_tutum_reads_a_tag_without_a_layer(wire, api_server, alice, alices_images):
    go = GoTutum(wire, api_server.url, alice.apikey())
    api = ApiClient(alice.basic())
    api.patch(
        f"/api/v1/image/{alices_images[1].name}/",
        {"build_source": {"repository": "r", "build_settings": [{"tag": "next", "branch": "b"}]}},
    )

    tag = go.get_image_tag(alices_images[1].name, "next")

    assert tag["layer"] is None and tag["buildable"] is True


def test_a_go_tutum_body_that_is_not_json_is_a_400_naming_the_problem(wire, api_server, alice):
    go = GoTutum(wire, api_server.url, alice.apikey())

    reply = wire.send("POST", go.base_url + "image/", go.headers, b"name=web")

    assert reply.status == 400
    assert "JSON" in reply.json()["error"]


# --- sign-ins are not disturbed by scripts ----------------------------------------------------


def test_ten_cli_commands_with_an_api_key_leave_the_admin_sign_in_alone(
    wire, api_server, alice, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    cli = cli_for(wire, api_server, alice, "api key")
    for _ in range(10):
        cli.image_list()

    browser = Client()
    response = browser.post("/login/", {"username": "alice", "password": alice.password})

    assert response.status_code == 302
