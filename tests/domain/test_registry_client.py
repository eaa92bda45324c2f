"""The OCI client against real registries: every manifest kind, paging, errors in words."""

from __future__ import annotations

import pytest

from registry import client as oci
from tests.fixtures.ports import free_port

pytestmark = pytest.mark.registry


def client(registry, **kwargs) -> oci.RegistryClient:
    return oci.RegistryClient(registry.url, host=registry.host, **kwargs)


def test_it_reads_an_oci_manifest_and_its_config(plain_registry, buildah):
    ref = buildah.make_image(
        "localhost/oci:1",
        env={"A": "1=2"},
        labels={"z": "last", "a": "first"},
        ports=("443/tcp", "80"),
        volumes=("/v",),
        entrypoint='["/bin/busybox", "sh"]',
        cmd="echo 'quoted words'",
        author="Ann <ann@example.com>",
    )
    digest = buildah.push(ref, f"{plain_registry.host}/lib/oci:1")

    manifest = client(plain_registry).get_manifest("lib/oci", "1")

    assert manifest.digest == digest
    assert manifest.media_type == oci.OCI_MANIFEST
    config = manifest.config
    assert {"key": "A", "value": "1=2"} in config.envvars
    assert [label["key"] for label in config.labels][:2] == ["a", "io.buildah.version"]
    assert config.ports == [{"port": 80, "protocol": "tcp"}, {"port": 443, "protocol": "tcp"}]
    assert config.volumes == [{"container_path": "/v"}]
    assert config.entrypoint == "/bin/busybox sh"
    assert config.author == "Ann <ann@example.com>"
    assert config.created is not None and config.created.tzinfo is not None
    assert config.size > 0
    assert len(config.docker_id) == 64


def test_it_reads_a_docker_schema2_manifest(plain_registry, buildah):
    ref = buildah.make_image("localhost/docker:1", env={"KIND": "docker"}, docker_format=True)
    buildah.run(
        "push",
        "--tls-verify=false",
        "--format",
        "v2s2",
        ref,
        f"docker://{plain_registry.host}/lib/docker:1",
    )

    manifest = client(plain_registry).get_manifest("lib/docker", "1")

    assert manifest.media_type == oci.DOCKER_MANIFEST
    assert {"key": "KIND", "value": "docker"} in manifest.config.envvars


def test_it_picks_linux_amd64_from_an_index(plain_registry, buildah):
    amd64 = buildah.make_image("localhost/multi:amd64", env={"ARCH": "amd64"})
    arm64 = buildah.make_image("localhost/multi:arm64", env={"ARCH": "arm64"})
    container = buildah.run("from", "--pull-never", arm64).stdout.strip()
    buildah.run("config", "--arch", "arm64", container)
    buildah.run("commit", "--quiet", "--rm", container, arm64)
    index_digest = buildah.push_index([arm64, amd64], f"{plain_registry.host}/lib/multi:1")

    manifest = client(plain_registry).get_manifest("lib/multi", "1")

    assert manifest.media_type == oci.OCI_INDEX
    assert manifest.digest == index_digest
    assert manifest.platform_digest and manifest.platform_digest != index_digest
    assert {"key": "ARCH", "value": "amd64"} in manifest.config.envvars


def test_it_pages_through_tags_and_the_catalog(plain_registry, buildah):
    base = buildah.build_base()
    for i in range(3):
        buildah.push(base, f"{plain_registry.host}/paged/app:t{i}")
    small_pages = client(plain_registry, page_size=1)

    assert sorted(small_pages.list_tags("paged/app")) == ["t0", "t1", "t2"]
    assert "paged/app" in small_pages.catalog()


def test_it_gives_the_catalog_a_page_at_a_time(plain_registry, buildah):
    base = buildah.build_base()
    for name in ("pages/a", "pages/b", "pages/c"):
        buildah.push(base, f"{plain_registry.host}/{name}:1")

    pages = list(client(plain_registry, page_size=2).catalog_pages())

    assert all(len(page) <= 2 for page in pages)
    assert {"pages/a", "pages/b", "pages/c"} <= {name for page in pages for name in page}


def test_it_reads_a_tags_digest_without_reading_its_manifest(plain_registry, buildah):
    image = buildah.push(buildah.build_base(), f"{plain_registry.host}/head/app:one")
    index = buildah.push_index(
        [buildah.make_image("localhost/head:1", env={"N": "1"})],
        f"{plain_registry.host}/head/app:many",
    )
    registry = client(plain_registry)

    assert registry.manifest_digest("head/app", "one") == image
    assert registry.manifest_digest("head/app", "many") == index
    with pytest.raises(oci.RegistryNotFound, match="no tag gone in head/app"):
        registry.manifest_digest("head/app", "gone")


def test_it_asks_for_a_new_token_once_half_of_the_last_ones_life_is_spent(
    plain_registry, buildah, settings, monkeypatch
):
    buildah.push(buildah.build_base(), f"{plain_registry.host}/tokens/app:1")
    settings.REGISTRY_TOKEN_TTL = 300
    asked: list[list[str]] = []
    registry = client(plain_registry, token_provider=lambda scopes: asked.append(scopes) or "t")
    now = [1000.0]
    monkeypatch.setattr(oci, "monotonic", lambda: now[0])

    registry.list_tags("tokens/app")
    now[0] += 149
    registry.list_tags("tokens/app")
    assert len(asked) == 1
    now[0] += 2
    registry.list_tags("tokens/app")

    assert asked == [["repository:tokens/app:pull"]] * 2


def test_it_deletes_a_manifest(plain_registry, buildah):
    digest = buildah.push(buildah.build_base(), f"{plain_registry.host}/del/app:1")
    registry = client(plain_registry)

    registry.delete_manifest("del/app", digest)

    with pytest.raises(oci.RegistryNotFound, match="no tag 1 in del/app"):
        registry.get_manifest("del/app", "1")
    registry.delete_manifest("del/app", digest)  # already gone: not an error


def test_basic_auth_credentials_are_checked(htpasswd_registry, buildah):
    creds = f"{htpasswd_registry.username}:{htpasswd_registry.password}"
    buildah.push(buildah.build_base(), f"{htpasswd_registry.host}/team/ok:1", creds)
    good = client(
        htpasswd_registry, username=htpasswd_registry.username, password=htpasswd_registry.password
    )

    good.check_access("team/ok")
    with pytest.raises(oci.RegistryAuthError, match="rejected the username/password"):
        client(htpasswd_registry, username="robot", password="bad").check_access("team/ok")
    with pytest.raises(oci.RegistryAuthError, match="requires a username and password"):
        client(htpasswd_registry).check_access("team/ok")
    with pytest.raises(oci.RegistryNotFound, match="no repository team/nope"):
        good.check_access("team/nope")


def test_an_unreachable_registry_is_reported_plainly():
    host = f"127.0.0.1:{free_port()}"

    with pytest.raises(oci.RegistryUnreachable, match=f"could not reach registry {host}"):
        oci.RegistryClient(f"http://{host}", host=host).check_access("a/b")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.example.com/token",service="reg",scope="repository:a/b:pull"',
            (
                "bearer",
                {
                    "realm": "https://auth.example.com/token",
                    "service": "reg",
                    "scope": "repository:a/b:pull",
                },
            ),
        ),
        ('Basic realm="x"', ("basic", {"realm": "x"})),
    ],
)
def test_it_parses_auth_challenges(header, expected):
    assert oci._parse_challenge(header) == expected


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1:5999", "https://127.0.0.1:5999"),
        ("localhost:5000", "https://localhost:5000"),
        ("registry.example.com", "https://registry.example.com"),
    ],
)
def test_registries_are_https_unless_listed_as_insecure(host, url, settings):
    # Loopback is no longer plain HTTP by itself: unlisted, the outbound policy refuses it.
    assert oci.registry_base_url(host) == url


def test_insecure_registries_can_be_listed(settings):
    settings.INSECURE_REGISTRIES = ["10.0.0.5:5000"]

    assert oci.registry_base_url("10.0.0.5:5000") == "http://10.0.0.5:5000"
