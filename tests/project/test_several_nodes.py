"""The system on several nodes behind one balancer (tests/fixtures/cluster.py): PostgreSQL, S3
storage, Redis, two registries sharing the storage, two API and two admin servers, two build
workers, HAProxy. Everything is done through the balancer, as people and their tools reach it,
and checked on every node."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urljoin

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.builds import DOCKERFILE
from tests.fixtures.cluster import ADMIN_PASSWORD, METRICS_TOKEN, start_cluster
from tests.fixtures.registry import BUSYBOX

pytestmark = [pytest.mark.registry, pytest.mark.scale]

ADMIN = ("admin", ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, postgres, redis_server, seaweedfs, git_server):
    database_url = postgres.create_database("cluster")
    bucket = seaweedfs.make_bucket("cluster")
    cluster = start_cluster(
        tmp_path_factory.mktemp("cluster"),
        database_url=database_url,
        redis_url=redis_server.url,
        storage_url=seaweedfs.storage_url(bucket),
        git_base_url=git_server.base_url,
    )
    yield cluster
    cluster.stop()


def api(cluster, method: str, path: str, auth=ADMIN, base: str | None = None, **kwargs):
    return requests.request(
        method, f"{base or cluster.api_url}/api/v1/{path}", auth=auth, timeout=30, **kwargs
    )


def wait_for_tag(cluster, name: str, tag: str, seconds: float = 30) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = api(cluster, "GET", f"image/{name}/tag/{tag}/")
        if answer.status_code == 200:
            return answer.json()
        time.sleep(0.2)
    raise AssertionError(f"{name}:{tag} was never listed:\n{cluster.logs()}")


def push(cluster, buildah, repository: str, tag: str) -> str:
    source = buildah.make_image(
        f"localhost/{repository}:{tag}", files={"/stamp": f"{repository}:{tag}".encode()}
    )
    return buildah.push(
        source, f"{cluster.registry_host}/{repository}:{tag}", creds=":".join(ADMIN)
    )


def pulled_digest(buildah, registry_host: str, repository: str, tag: str) -> str:
    ref = f"{registry_host}/{repository}:{tag}"
    buildah.run("pull", "--tls-verify=false", "--creds", ":".join(ADMIN), f"docker://{ref}")
    inspected = buildah.run("inspect", "--format", "{{.FromImageDigest}}", ref)
    buildah.run("rmi", ref)
    return inspected.stdout.strip()


def test_a_push_through_the_balancer_is_listed_and_pulls_from_either_registry(cluster, buildah):
    digest = push(cluster, buildah, "admin/app", "v1")
    name = f"{cluster.registry_host}/admin/app"

    listed = wait_for_tag(cluster, name, "v1")

    assert listed["full_name"] == f"{name}:v1"
    for node in cluster.nodes:
        on_node = api(cluster, "GET", f"image/{name}/tag/v1/", base=node.api_url)
        assert on_node.json()["layer"] == listed["layer"]
        assert pulled_digest(buildah, node.registry_host, "admin/app", "v1") == (digest)


def test_a_build_runs_on_a_worker_and_pushes_through_the_balancer(cluster, git_server):
    git_server.push("acme", "cluster", {"busybox": BUSYBOX, "Dockerfile": DOCKERFILE})
    name = f"{cluster.registry_host}/admin/built"
    created = api(
        cluster,
        "POST",
        "image/",
        json={
            "name": name,
            "build_source": {
                "owner": "acme",
                "repository": "cluster",
                "build_settings": [{"tag": "latest", "branch": "main", "dockerfile": "/"}],
            },
        },
    )
    assert created.status_code == 201, created.text

    started = api(cluster, "POST", f"image/{name}/tag/latest/build/")
    assert started.status_code == 202, started.text
    build_uri = started.headers["Location"]
    deadline = time.monotonic() + 240
    build = {"state": "Building"}
    while build["state"] not in ("Success", "Failed") and time.monotonic() < deadline:
        time.sleep(1)
        build = requests.get(urljoin(cluster.api_url, build_uri), auth=ADMIN, timeout=30).json()

    assert build["state"] == "Success", cluster.logs()
    assert wait_for_tag(cluster, name, "latest")["full_name"] == f"{name}:latest"


def test_a_deleted_tag_restores_and_a_purged_one_is_collected_on_s3(cluster, buildah):
    kept = push(cluster, buildah, "admin/bin", "kept")
    push(cluster, buildah, "admin/bin", "gone")
    name = f"{cluster.registry_host}/admin/bin"
    wait_for_tag(cluster, name, "kept")
    wait_for_tag(cluster, name, "gone")

    for tag in ("kept", "gone"):
        assert api(cluster, "DELETE", f"image/{name}/tag/{tag}/").status_code == 204
    entries = {
        entry["tag"]: entry
        for entry in api(cluster, "GET", f"image/{name}/deleted/").json()["objects"]
    }
    restored = api(cluster, "POST", f"deleted/{entries['kept']['id']}/restore/")
    purged = api(cluster, "DELETE", f"deleted/{entries['gone']['id']}/")
    collected = json.loads(cluster.driver(cluster.nodes[1], "collect"))

    assert restored.status_code == 200, restored.text
    assert purged.status_code == 204, purged.text
    assert collected["blobs_deleted"] >= 1 and collected["bytes_freed"] > 0, collected
    assert api(cluster, "GET", f"image/{name}/tag/gone/").status_code == 404
    for node in cluster.nodes:
        assert pulled_digest(buildah, node.registry_host, "admin/bin", "kept") == kept


def admin_session(url: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{url}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = browser.post(
        f"{url}/login/",
        data={"username": ADMIN[0], "password": ADMIN[1], "csrfmiddlewaretoken": token},
        headers={"Referer": f"{url}/login/"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text[:2000]
    return browser


def signed_in(browser: requests.Session, url: str) -> bool:
    page = browser.get(f"{url}/", allow_redirects=False, timeout=30)
    return page.status_code == 200


def test_signing_out_on_one_admin_node_ends_the_session_on_the_other(cluster):
    first, second = (node.admin_url for node in cluster.nodes)
    browser = admin_session(first)
    assert signed_in(browser, first)
    assert signed_in(browser, second)

    page = browser.get(f"{second}/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    signed_out = browser.post(
        f"{second}/logout/",
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": f"{second}/"},
        allow_redirects=False,
        timeout=30,
    )

    assert signed_out.status_code == 302
    assert not signed_in(browser, first)
    assert not signed_in(browser, second)


def test_a_revoked_key_is_refused_by_every_node_at_once(cluster):
    made = api(cluster, "POST", "apikey/", json={"label": "cluster"})
    assert made.status_code == 201, made.text
    key = made.json()
    auth = ("admin", key["key"])
    for node in cluster.nodes:
        assert api(cluster, "GET", "image/", auth=auth, base=node.api_url).status_code == 200

    revoked = api(cluster, "DELETE", f"apikey/{key['id']}/")

    assert revoked.status_code == 204
    for node in cluster.nodes:
        assert api(cluster, "GET", "image/", auth=auth, base=node.api_url).status_code == 401
        token = api(
            cluster,
            "GET",
            "registry-token/",
            auth=auth,
            base=node.api_url,
            params={"service": "tutumweb-registry", "scope": "repository:admin/app:pull"},
        )
        assert token.status_code == 401


def test_every_node_is_ready_on_the_shared_parts(cluster):
    for node in cluster.nodes:
        for url in (node.api_url, node.admin_url):
            ready = requests.get(f"{url}/readyz", timeout=30).json()
            assert ready["checks"] == {"database": "ok", "registry": "ok", "redis": "ok"}
        config = json.loads((node.data_dir / "registry" / "config.yml").read_text())
        assert config["storage"]["s3"]["bucket"] == "cluster"
        assert config["http"]["addr"] == node.registry_host


def test_the_balancer_spreads_the_work_over_every_node(cluster):
    for _ in range(6):
        assert requests.get(f"{cluster.api_url}/readyz", timeout=30).status_code == 200
        assert requests.get(f"{cluster.admin_url}/login/", timeout=30).status_code == 200
        assert requests.get(f"{cluster.registry_url}/v2/", timeout=30).status_code == 401
    served = cluster.served()

    for part in ("api", "admin", "registry"):
        assert served[part] == {f"{part}{node.number}" for node in cluster.nodes}, served


def test_every_node_reports_the_same_pushes_builds_and_collections_to_prometheus(cluster):
    # Run after the tests above: pushes, a build and a collection have happened.
    reported = []
    for node in cluster.nodes:
        answer = requests.get(
            f"{node.api_url}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=30,
        )
        assert answer.status_code == 200
        samples = {
            sample.name: sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
            if sample.name in ("tutumweb_registry_pushes_total", "tutumweb_gc_runs_total")
        }
        reported.append(samples)

    assert reported[0] == reported[1]
    assert reported[0]["tutumweb_registry_pushes_total"] >= 4
    assert reported[0]["tutumweb_gc_runs_total"] >= 1
