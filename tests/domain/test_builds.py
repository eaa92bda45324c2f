"""Real builds: git clone of a local bare repository, buildah bud, push to our registry, read
back; run by a real `manage.py build_worker` process or, for failure cases, by the pipeline."""

from __future__ import annotations

import os
import time

import pytest
from django.conf import settings

from builds import pipeline
from records.models import Build, Tag, UntaggedManifest
from tests.fixtures.api import ApiClient
from tests.fixtures.builds import DOCKERFILE, wait_for_build
from tests.fixtures.registry import BUSYBOX

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]


def register(api: ApiClient, repo: str, *, source_repo: str = "hello", rows=None, **extra):
    name = f"{settings.REGISTRY_HOST}/alice/{repo}"
    rows = rows or [{"tag": "latest", "branch": "main", "dockerfile": "/"}]
    body = {
        "name": name,
        "build_source": {"owner": "acme", "repository": source_repo, "build_settings": rows},
        **extra,
    }
    response = api.post("/api/v1/image/", body)
    assert response.status_code == 201, response.content
    return name


def register_external(api: ApiClient, registry, repository: str) -> str:
    """An image on the htpasswd registry, built from acme/hello's main branch as tag v1."""
    name = f"{registry.host}/{repository}"
    response = api.post(
        "/api/v1/image/",
        {
            "name": name,
            "username": registry.username,
            "password": registry.password,
            "build_source": {
                "owner": "acme",
                "repository": "hello",
                "build_settings": [{"tag": "v1", "branch": "main"}],
            },
        },
    )
    assert response.status_code == 201, response.content
    return name


def build(api: ApiClient, name: str, tag: str = "latest", **body):
    return api.post(f"/api/v1/image/{name}/tag/{tag}/build/", body or None)


def run_inline(response) -> Build:
    """Run the queued build here instead of in a worker (the failure-case tests)."""
    assert response.status_code == 202, response.content
    build_obj = Build.objects.get(uuid=response["Location"].split("/")[-2])
    pipeline.run(build_obj.pk)
    build_obj.refresh_from_db()
    return build_obj


def test_a_build_clones_builds_pushes_and_the_tag_reflects_the_dockerfile(
    api, our_registry, git_server, build_worker
):
    sha = git_server.push_app("acme", "hello")
    name = register(api, "hello")

    response = build(api, name)

    assert response.status_code == 202, response.content
    assert response.json()["state"] == "Building"
    assert api.get(f"/api/v1/image/{name}/").json()["state"] == "Building"
    done = wait_for_build(response["Location"].split("/")[-2])
    assert done.state == "Success", f"{done.error}\n{done.log}\n{build_worker.output()}"
    assert done.commit_sha == sha
    assert done.commit_message == "Add the Dockerfile"
    tag = api.get(f"/api/v1/image/{name}/tag/latest/").json()
    assert tag["state"] == "Success"
    layer = tag["layer"]
    assert {"key": "GREETING", "value": "hello world"} in layer["envvars"]
    assert {"key": "org.example.team", "value": "builds"} in layer["labels"]
    assert {"port": 8080, "protocol": "tcp"} in layer["ports"]
    assert {"container_path": "/data"} in layer["volumes"]
    assert layer["entrypoint"] == "/bin/sh -c"
    assert layer["run_command"] == "'echo $GREETING'"  # shell-quoted, ready to paste
    assert api.get(f"/api/v1/image/{name}/").json()["state"] == "Success"
    history = api.get(f"/api/v1/image/{name}/tag/latest/build/").json()
    assert history["meta"]["total_count"] == 1
    record = history["objects"][0]
    assert record["state"] == "Success"
    assert record["trigger"] == "API"
    assert record["triggered_by"] == "alice"
    assert record["commit"] == sha
    assert record["duration"] > 0
    assert record["digest"] == Tag.objects.get(image__name=name, name="latest").digest
    # What the tag page shows of the pushed image: who it was pushed for, and how it was made.
    assert tag["digest"] == record["digest"]
    assert tag["pushed_by"] == "alice"
    assert tag["size"] > sum(blob["size"] for blob in layer["layers"]) > 0
    steps = [step["created_by"] for step in layer["history"]]
    assert any("ENV GREETING" in step for step in steps), steps
    assert any('echo "built on $(uname -m)"' in step for step in steps), steps
    log = api.get(f"/api/v1/build/{record['uuid']}/log/").json()
    assert "STEP 1/10: FROM scratch" in log["text"]
    assert "Pushed" in log["text"]
    assert log["complete"] is True


def test_a_build_that_moves_its_tag_leaves_the_manifest_it_named_untagged(
    api, our_registry, git_server, builds_env
):
    git_server.push_app("acme", "rebuilt")
    name = register(api, "rebuilt", source_repo="rebuilt")
    first = run_inline(build(api, name))
    assert first.state == "Success", first.log
    git_server.push_app("acme", "rebuilt", again="a change, so a new layer")

    second = run_inline(build(api, name))

    assert second.state == "Success", second.log
    assert second.digest != first.digest
    row = UntaggedManifest.objects.get()
    assert (row.digest, row.last_tag, row.pushed_by) == (first.digest, "latest", "alice")


def test_the_log_can_be_followed_from_an_offset(api, our_registry, git_server, builds_env):
    git_server.push_app("acme", "hello")
    name = register(api, "follow")
    done = run_inline(build(api, name))
    assert done.state == "Success", done.error

    whole = api.get(f"/api/v1/build/{done.uuid}/log/").json()
    rest = api.get(f"/api/v1/build/{done.uuid}/log/?offset=10").json()
    beyond = api.get(f"/api/v1/build/{done.uuid}/log/?offset=99999999").json()

    assert rest["offset"] == 10
    assert rest["text"] == whole["text"][10:]
    assert rest["next_offset"] == whole["next_offset"] == len(whole["text"])
    assert beyond["text"] == "" and beyond["complete"] is True
    bad = api.get(f"/api/v1/build/{done.uuid}/log/?offset=-1")
    assert bad.status_code == 400 and "offset" in bad.json()["fields"]


def test_a_second_build_of_a_building_tag_is_refused_with_409(api, git_server, builds_env):
    git_server.push_app("acme", "hello")
    name = register(api, "busy")

    first = build(api, name)
    second = build(api, name)

    assert first.status_code == 202
    assert second.status_code == 409
    assert "already building" in second.json()["error"]
    assert Build.objects.filter(tag__image__name=name).count() == 1


def test_building_a_tag_without_a_build_setting_is_a_400(api, git_server, builds_env):
    git_server.push_app("acme", "hello")
    name = register(api, "nosetting")

    response = build(api, name, "v2")

    assert response.status_code == 400
    assert "no build setting for tag `v2`" in response.json()["fields"]["tag"][0]


def test_only_the_owner_may_build_and_private_builds_are_invisible(
    api, bob, git_server, builds_env
):
    git_server.push_app("acme", "hello")
    name = register(api, "mine")
    queued = build(api, name)
    bobs = ApiClient(bob.basic())

    assert bobs.post(f"/api/v1/image/{name}/tag/latest/build/").status_code == 404
    assert bobs.get(queued["Location"]).status_code == 404
    assert bobs.get(queued["Location"] + "log/").status_code == 404
    assert ApiClient().get(queued["Location"]).status_code == 401


@pytest.mark.parametrize(
    ("files", "setting", "expected"),
    [
        (None, {"branch": "staging"}, "Branch `staging` not found"),
        (None, {"dockerfile": "/docker/"}, "No Dockerfile at `/docker`"),
        (
            {"Dockerfile": "FROM scratch\nCOPY busybox /bin/busybox\n\nRUNN echo hi\n"},
            {},
            "Dockerfile syntax error at line 4: unknown instruction `RUNN`",
        ),
        (
            {
                "Dockerfile": 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", '
                '"--install", "-s", "/bin"]\nRUN echo compiling; echo "missing header" >&2; '
                "exit 3\n"
            },
            {},
            "The RUN step at line 4 exited with status 3",
        ),
        (
            {"Dockerfile": "FROM scratch\nCOPY nothere /x\n"},
            {},
            "`COPY nothere /x` at line 2 failed: a file it copies is not in the build context",
        ),
    ],
    ids=["branch", "dockerfile-path", "syntax", "run-step", "copy"],
)
def test_failures_explain_themselves(
    api, git_server, our_registry, builds_env, files, setting, expected
):
    repo = f"fail-{abs(hash(expected)) % 10_000}"
    content = {"busybox": BUSYBOX, "Dockerfile": DOCKERFILE}
    content.update(files or {})
    git_server.push("acme", repo, content)
    row = {"tag": "latest", "branch": "main", "dockerfile": "/", **setting}
    name = register(api, repo, source_repo=repo, rows=[row])

    done = run_inline(build(api, name))

    assert done.state == "Failed"
    assert expected in done.error, done.error
    tag = api.get(f"/api/v1/image/{name}/tag/latest/").json()
    assert tag["state"] == "Failed"
    assert api.get(f"/api/v1/image/{name}/").json()["state"] == "Failed"
    assert build(api, name).status_code == 202  # a failed build leaves the tag buildable


def test_a_run_step_failure_shows_its_last_output_lines(api, git_server, builds_env):
    dockerfile = (
        'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", '
        '"/bin"]\nRUN echo compiling; echo "fatal: missing header foo.h" >&2; exit 3\n'
    )
    git_server.push("acme", "runfail", {"busybox": BUSYBOX, "Dockerfile": dockerfile})
    name = register(api, "runfail", source_repo="runfail")

    done = run_inline(build(api, name))

    assert "fatal: missing header foo.h" in done.error
    assert "compiling" in done.error


def test_a_missing_repository_says_so(api, git_server, builds_env):
    name = register(api, "norepo", source_repo="does-not-exist")

    done = run_inline(build(api, name))

    assert done.state == "Failed"
    assert "Could not clone" in done.error
    assert "does not exist or this server has no access" in done.error


def test_a_build_setting_path_to_a_dockerfile_in_a_subdirectory(
    api, git_server, our_registry, builds_env
):
    git_server.push(
        "acme",
        "nested",
        {"docker/web/busybox": BUSYBOX, "docker/web/Dockerfile": DOCKERFILE},
    )
    row = {"tag": "web", "branch": "main", "dockerfile": "/docker/web/"}
    name = register(api, "nested", source_repo="nested", rows=[row])

    done = run_inline(build(api, name, "web"))

    assert done.state == "Success", done.error


def test_queued_builds_report_their_place_and_the_workers_online(api, git_server, builds_env):
    git_server.push_app("acme", "hello")
    name = register(
        api,
        "queue",
        rows=[
            {"tag": "a", "branch": "main", "dockerfile": "/"},
            {"tag": "b", "branch": "main", "dockerfile": "/"},
        ],
    )
    build(api, name, "a")
    time.sleep(0.01)
    second = build(api, name, "b")

    record = api.get(second["Location"]).json()

    assert record["state"] == "Queued"
    assert record["queue_position"] == 1
    assert record["workers_online"] == 0


AUTOTEST_PASS = """\
services:
  sut:
    build: .
    command: test "$(cat /built.txt)" != "" && echo "tests passed for $GREETING"
"""
AUTOTEST_FAIL = """\
services:
  sut:
    build: .
    environment:
      EXPECTED: goodbye
    command: ["/bin/sh", "-c", "echo checking greeting; test \\"$GREETING\\" = \\"$EXPECTED\\""]
"""


@pytest.mark.parametrize(
    ("test_file", "autotests", "state", "expected"),
    [
        (AUTOTEST_PASS, "SOURCE_ONLY", "Success", "tests passed for hello world"),
        (AUTOTEST_FAIL, "SOURCE_AND_FORKS", "Failed", "checking greeting"),
        (AUTOTEST_FAIL, "OFF", "Success", None),
        (None, "SOURCE_ONLY", "Success", "no docker-compose.test.yml"),
    ],
    ids=["pass", "fail", "off", "no-file"],
)
def test_autotests_run_sut_in_the_built_image_before_pushing(
    api, git_server, our_registry, builds_env, request, test_file, autotests, state, expected
):
    repo = f"autotest-{request.node.callspec.id}"
    extra = {"docker-compose.test.yml": test_file} if test_file else {}
    git_server.push("acme", repo, {"busybox": BUSYBOX, "Dockerfile": DOCKERFILE, **extra})
    name = register(api, repo, source_repo=repo)
    api.patch(
        f"/api/v1/image/{name}/",
        {
            "build_source": {
                "owner": "acme",
                "repository": repo,
                "autotests": autotests,
                "build_settings": [{"tag": "latest", "branch": "main"}],
            }
        },
    )

    done = run_inline(build(api, name))

    assert done.state == state, done.error
    if expected:
        assert expected in done.log
    if state == "Failed":
        assert "Autotests failed: the `sut` command exited with status 1" in done.error
        assert "checking greeting" in done.error
        assert not Tag.objects.get(image__name=name, name="latest").digest  # nothing pushed


def test_a_build_pushes_to_an_external_registry_with_the_stored_credentials(
    api, git_server, builds_env, htpasswd_registry
):
    git_server.push_app("acme", "hello")
    name = register_external(api, htpasswd_registry, "team/app")

    done = run_inline(build(api, name, "v1"))

    assert done.state == "Success", done.error
    assert htpasswd_registry.password not in done.log
    tag = api.get(f"/api/v1/image/{name}/tag/v1/").json()
    assert {"key": "GREETING", "value": "hello world"} in tag["layer"]["envvars"]


def test_a_push_refused_by_the_registry_explains_the_credentials(
    api, git_server, builds_env, htpasswd_registry
):
    from records.models import Image

    git_server.push_app("acme", "hello")
    name = register_external(api, htpasswd_registry, "team/refused")
    image = Image.objects.get(name=name)
    image.registry_password = "changed-since"  # the registry's password was rotated
    image.save()

    done = run_inline(build(api, name, "v1"))

    assert done.state == "Failed"
    assert f"The registry {htpasswd_registry.host} rejected the push" in done.error
    assert "Update the registry username and password" in done.error
    assert "changed-since" not in done.log


def test_a_build_does_not_push_to_a_registry_the_outbound_policy_refuses(
    api, git_server, builds_env, htpasswd_registry, settings
):
    git_server.push_app("acme", "hello")
    name = register_external(api, htpasswd_registry, "team/unlisted")
    # Since it was registered, the operator took the host off the list (as if its name now
    # resolved to an internal address): buildah, which connects on its own, must not go there.
    settings.INSECURE_REGISTRIES = [
        host for host in settings.INSECURE_REGISTRIES if host != htpasswd_registry.host
    ]

    done = run_inline(build(api, name, "v1"))

    assert done.state == "Failed"
    assert (
        f"Nothing was pushed: could not reach registry {htpasswd_registry.host}: check the "
        "name, and that it is a registry reachable from this server."
    ) in done.error
    assert "Pushing to" not in done.log


def test_registry_passwords_never_appear_on_a_command_line(
    api, git_server, builds_env, htpasswd_registry, monkeypatch
):
    import subprocess

    from builds import buildah

    seen: list[list[str]] = []

    class RecordingPopen(subprocess.Popen):
        def __init__(self, args, *rest, **kwargs):
            seen.append(list(args))
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(buildah.subprocess, "Popen", RecordingPopen)
    git_server.push_app("acme", "hello")
    name = register_external(api, htpasswd_registry, "team/argv")

    done = run_inline(build(api, name, "v1"))

    assert done.state == "Success", done.error
    assert any("push" in argv for argv in seen)
    assert not any(htpasswd_registry.password in " ".join(argv) for argv in seen)


def test_the_build_cache_keeps_base_images_until_it_outgrows_its_cap(builds_env):
    from builds import buildah, cache

    env = cache.environment()

    def listed(what: str) -> list[str]:
        return buildah.run_quiet(what, "--quiet", env=env).stdout.split()

    probe = buildah.run_quiet("from", "scratch", env=env).stdout.strip()
    buildah.run_quiet("commit", probe, "localhost/cache-probe:latest", env=env)
    buildah.run_quiet("from", "scratch", env=env)  # as a killed build leaves one

    builds_env.BUILD_CACHE_MAX_MB = 0
    with cache.in_use():  # another worker sharing BUILD_DIR is building
        cleared_during_a_build = cache.trim()
        containers_during_a_build = listed("containers")
    builds_env.BUILD_CACHE_MAX_MB = 10_240
    cleared_under_cap = cache.trim()
    images_under_cap, containers = listed("images"), listed("containers")
    builds_env.BUILD_CACHE_MAX_MB = 0
    cleared_over_cap = cache.trim()

    assert not cleared_during_a_build
    assert len(containers_during_a_build) == 2
    assert not cleared_under_cap
    assert containers == []
    assert len(images_under_cap) == 1
    assert cleared_over_cap
    assert listed("images") == []


def _buildah_failing(directory, times: int, subcommand: str, output: str, error: str) -> None:
    """A `buildah` first on PATH whose first `times` runs of `subcommand` fail with `output`
    and `error`, as a race we cannot bring about on demand makes them fail; the rest is the
    real buildah."""
    counter = directory / "lost"
    counter.write_text("")
    script = directory / "buildah"
    script.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do\n'
        f'  if [ "$arg" = {subcommand} ] && [ "$(wc -c < {counter})" -lt {times} ]; then\n'
        f"    printf x >> {counter}\n"
        f"    echo '{output}'\n"
        f"    echo '{error}' >&2\n"
        "    exit 125\n"
        "  fi\n"
        "done\n"
        'exec /usr/bin/buildah "$@"\n'
    )
    script.chmod(0o755)


def _buildah_losing_layers(directory, times: int) -> None:
    """Buds that fail as containers/storage does when another build sharing the storage
    removes a layer this one is reusing as it commits."""
    _buildah_failing(
        directory,
        times,
        "bud",
        "STEP 10/10: COMMIT",
        "Error: committing the finished image: creating image: layer not known",
    )


def _buildah_losing_a_layer_race(directory, times: int) -> None:
    """Pushes that fail as Distribution 2.8 refuses a manifest whose layer another push to the
    same repository is still committing (seen with two workers building from one base)."""
    _buildah_failing(
        directory,
        times,
        "push",
        "Writing manifest to image destination",
        "Error: writing manifest: uploading manifest latest to 127.0.0.1/alice/app: "
        "manifest blob unknown: blob unknown to registry",
    )


def test_a_build_whose_shared_layer_vanished_builds_once_more(
    api, git_server, our_registry, builds_env, tmp_path, monkeypatch
):
    _buildah_losing_layers(tmp_path, times=1)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    git_server.push_app("acme", "raced")
    name = register(api, "raced", source_repo="raced")

    done = run_inline(build(api, name))

    assert done.state == "Success", f"{done.error}\n{done.log}"
    assert "layer not known" in done.log
    assert "removed a layer this one was reusing; building once more" in done.log
    assert api.get(f"/api/v1/image/{name}/tag/latest/").json()["state"] == "Success"


def test_a_build_whose_shared_layer_vanishes_twice_says_to_build_again(
    api, git_server, builds_env, tmp_path, monkeypatch
):
    _buildah_losing_layers(tmp_path, times=2)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    git_server.push_app("acme", "raced-twice")
    name = register(api, "raced-twice", source_repo="raced-twice")

    done = run_inline(build(api, name))

    assert done.state == "Failed"
    assert "Nothing is wrong with the Dockerfile: build again." in done.error, done.error
    assert done.log.count("building once more") == 1
    assert (tmp_path / "lost").read_text() == "xx"


def test_a_push_that_lost_a_race_for_a_layer_is_pushed_again(
    api, git_server, our_registry, builds_env, tmp_path, monkeypatch
):
    _buildah_losing_a_layer_race(tmp_path, times=1)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    git_server.push_app("acme", "pushed-again")
    name = register(api, "pushed-again", source_repo="pushed-again")

    done = run_inline(build(api, name))

    assert done.state == "Success", f"{done.error}\n{done.log}"
    assert "another push was sending at the same moment; pushing again" in done.log
    assert api.get(f"/api/v1/image/{name}/tag/latest/").json()["state"] == "Success"


def test_a_push_that_loses_the_race_twice_fails_saying_why(
    api, git_server, our_registry, builds_env, tmp_path, monkeypatch
):
    _buildah_losing_a_layer_race(tmp_path, times=2)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    git_server.push_app("acme", "lost-twice")
    name = register(api, "lost-twice", source_repo="lost-twice")

    done = run_inline(build(api, name))

    assert done.state == "Failed"
    assert "blob unknown to registry" in done.error, done.error
    assert (tmp_path / "lost").read_text() == "xx"
