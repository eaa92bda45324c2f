"""Builds email the person who started them (accounts.notices): a failure, and a success after
a failure, through a real SMTP server (aiosmtpd); real clones, and real buildah builds pushed
to our registry."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.domain.test_builds import build, register, run_inline
from tests.fixtures.api import ApiClient

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=True)]
NO_DOCKERFILE = {"README.md": "The Dockerfile comes later.\n"}


def body_of(message) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_a_failed_build_mails_its_starter_and_the_next_success_says_fixed_once(
    api, our_registry, git_server, builds_env, mailbox
):
    api.patch("/api/v1/account/", {"email": "alice@example.test"})
    git_server.push("acme", "mailed", NO_DOCKERFILE)
    name = register(api, "mailed", source_repo="mailed")

    failed = run_inline(build(api, name))
    failure = mailbox.wait_for("alice@example.test")[0]
    git_server.push_app("acme", "mailed")
    fixed = run_inline(build(api, name))
    fixed_message = mailbox.wait_for("alice@example.test", 2)[1]
    again = run_inline(build(api, name))
    # A failure after it, so a wrong mail for the second success would be in before its mail.
    git_server.push("acme", "mailed", NO_DOCKERFILE)
    run_inline(build(api, name))
    last = mailbox.wait_for("alice@example.test", 3)[2]

    assert (failed.state, fixed.state, again.state) == ("Failed", "Success", "Success")
    assert failure["Subject"] == f"Build of {name}:latest failed"
    text = body_of(failure)
    assert f"The build of {name}:latest failed (commit {failed.commit_sha[:12]})" in text
    assert "No Dockerfile at `/` in branch `main`." in text
    link = f"http://127.0.0.1:8001/images/{name}/-/tags/latest/#build-log"
    assert mailbox.link(failure) == link
    assert fixed_message["Subject"] == f"Build of {name}:latest succeeded again"
    assert "after the tag's previous build failed" in body_of(fixed_message)
    assert mailbox.link(fixed_message) == link
    assert last["Subject"] == f"Build of {name}:latest failed"
    assert len(mailbox.messages) == 3


def test_turning_build_failed_off_stops_the_mail(api, bob, git_server, builds_env, mailbox):
    api.patch(
        "/api/v1/account/",
        {"email": "alice@example.test", "email_notifications": {"build_failed": False}},
    )
    bobs = ApiClient(bob.basic())
    bobs.patch("/api/v1/account/", {"email": "bob@example.test"})
    git_server.push("acme", "quiet", NO_DOCKERFILE)
    name = register(api, "quiet", source_repo="quiet")
    source = {
        "owner": "acme",
        "repository": "quiet",
        "build_settings": [{"tag": "latest", "branch": "main"}],
    }
    bobs_name = f"{settings.REGISTRY_HOST}/bob/quiet"
    registered = bobs.post("/api/v1/image/", {"name": bobs_name, "build_source": source})
    assert registered.status_code == 201, registered.content

    assert run_inline(build(api, name)).state == "Failed"
    # bob's failure is mailed: alice's, had it been, would most likely be in before it.
    assert run_inline(build(bobs, bobs_name)).state == "Failed"

    assert (
        mailbox.wait_for("bob@example.test")[0]["Subject"] == f"Build of {bobs_name}:latest failed"
    )
    assert mailbox.to("alice@example.test") == []
