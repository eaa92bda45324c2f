"""Saving a build setting checks its branch and Dockerfile path against the real repository;
git access tokens are stored encrypted and never returned."""

from __future__ import annotations

import pytest
from django.conf import settings

from records.models import BuildSource

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def checking(builds_env, git_server):
    builds_env.CHECK_BUILD_SETTINGS = True
    git_server.push_app("acme", "checked")
    git_server.push("acme", "checked", {"web/Dockerfile": "FROM scratch\n"}, branch="staging")
    return builds_env


def post(api, rows, repository="checked", **source):
    return api.post(
        "/api/v1/image/",
        {
            "name": f"{settings.REGISTRY_HOST}/alice/checked",
            "build_source": {
                "owner": "acme",
                "repository": repository,
                "build_settings": rows,
                **source,
            },
        },
    )


def test_existing_branches_and_dockerfile_paths_are_accepted(api, checking):
    response = post(
        api,
        [
            {"tag": "latest", "branch": "main", "dockerfile": "/"},
            {"tag": "web", "branch": "staging", "dockerfile": "/web/"},
            {"tag": "file", "branch": "staging", "dockerfile": "/web/Dockerfile"},
        ],
    )

    assert response.status_code == 201, response.content


def test_a_missing_branch_is_refused_on_its_row(api, checking):
    response = post(
        api,
        [
            {"tag": "latest", "branch": "main", "dockerfile": "/"},
            {"tag": "dev", "branch": "develop", "dockerfile": "/"},
        ],
    )

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert list(fields) == ["build_source.build_settings.1.branch"]
    assert "Branch `develop` not found" in fields["build_source.build_settings.1.branch"][0]


def test_a_missing_dockerfile_is_refused_on_its_row(api, checking):
    response = post(api, [{"tag": "latest", "branch": "main", "dockerfile": "/docker/"}])

    assert response.status_code == 400
    message = response.json()["fields"]["build_source.build_settings.0.dockerfile"][0]
    assert "No Dockerfile at `/docker`" in message


def test_a_missing_repository_is_refused_on_the_repository(api, checking):
    response = post(api, [{"tag": "latest", "branch": "main"}], repository="nope")

    assert response.status_code == 400
    message = response.json()["fields"]["build_source.repository"][0]
    assert "does not exist or this server has no access" in message


def test_a_patch_checks_the_new_settings_too(api, checking):
    assert post(api, [{"tag": "latest", "branch": "main"}]).status_code == 201
    name = f"{settings.REGISTRY_HOST}/alice/checked"

    response = api.patch(
        f"/api/v1/image/{name}/",
        {
            "build_source": {
                "owner": "acme",
                "repository": "checked",
                "build_settings": [{"tag": "latest", "branch": "gone"}],
            }
        },
    )

    assert response.status_code == 400
    assert "build_source.build_settings.0.branch" in response.json()["fields"]


def test_the_access_token_is_stored_encrypted_kept_and_never_returned(api, builds_env):
    rows = [{"tag": "latest", "branch": "main"}]
    created = post(api, rows, access_token="ghp_secret-token-123")
    name = f"{settings.REGISTRY_HOST}/alice/checked"

    assert created.status_code == 201, created.content
    assert "ghp_secret" not in created.content.decode()
    assert created.json()["build_source"]["has_access_token"] is True
    source = BuildSource.objects.get(image__name=name)
    assert source.access_token == "ghp_secret-token-123"
    assert "ghp_secret" not in source.access_token_encrypted

    # Changing the settings without sending the token keeps it; "" forgets it.
    body = {"owner": "acme", "repository": "checked", "build_settings": rows}
    api.patch(f"/api/v1/image/{name}/", {"build_source": body})
    assert BuildSource.objects.get(image__name=name).access_token == "ghp_secret-token-123"
    forgotten = api.patch(f"/api/v1/image/{name}/", {"build_source": {**body, "access_token": ""}})
    assert forgotten.json()["build_source"]["has_access_token"] is False


def test_a_private_repository_is_checked_and_built_with_its_access_token(
    api, builds_env, git_server, private_git_server, our_registry
):
    from builds import pipeline
    from records.models import Build

    builds_env.CHECK_BUILD_SETTINGS = True
    builds_env.GIT_BASE_URL = private_git_server
    git_server.push_app("acme", "private-app")
    rows = [{"tag": "latest", "branch": "main"}]

    refused = post(api, rows, repository="private-app")
    accepted = post(api, rows, repository="private-app", access_token="s3cret-token")

    assert refused.status_code == 400
    assert "has no access" in refused.json()["fields"]["build_source.repository"][0]
    assert accepted.status_code == 201, accepted.content
    name = f"{settings.REGISTRY_HOST}/alice/checked"
    queued = api.post(f"/api/v1/image/{name}/tag/latest/build/")
    build = Build.objects.get(uuid=queued["Location"].split("/")[-2])
    pipeline.run(build.pk)
    build.refresh_from_db()
    assert build.state == "Success", build.error
    assert "s3cret-token" not in build.log
