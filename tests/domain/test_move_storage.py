"""`manage.py move_storage [TARGET_STORAGE_URL]`: our registry's filesystem storage copied into
a bucket of SeaweedFS's S3 gateway, in the order a push writes (blobs, links, tags), without
uploads in progress, resumable; and, with real pushes, a registry started on the bucket
serves every tag with its digest."""

from __future__ import annotations

import io
import itertools
import json
import os

import pytest
from django.core.management import CommandError, call_command

from records.models import Tag
from registry.tokens import service_token
from tests.domain.test_backup import REPOSITORIES, Storage
from tests.fixtures.instance import pull
from tests.fixtures.our_registry import push_four_tags, serving_as_ours, start_our_registry
from tests.fixtures.ports import free_port
from tutumweb.moves import storage as moving

_roots = itertools.count()


@pytest.fixture
def bucket_root():
    """A root directory of the session's bucket no other test writes to."""
    return f"/moved-{os.getpid()}-{next(_roots)}"


@pytest.fixture
def filesystem(settings, tmp_path) -> Storage:
    """A registry storage as Distribution lays it out, named by our registry's config: two
    tags of alice/app with their links, and an upload in progress."""
    made = Storage(tmp_path / "storage")
    settings.REGISTRY_CONFIG = tmp_path / "config.yml"
    settings.REGISTRY_CONFIG.write_text(
        json.dumps({"storage": {"filesystem": {"rootdirectory": str(made.root)}}})
    )
    app = made.root / REPOSITORIES / "alice/app"
    for tag in ("v1", "v2"):
        digest = made.tag("alice/app", tag, f"manifest {tag}".encode() * 500)
        index = app / f"_manifests/tags/{tag}/index/sha256/{digest}/link"
        index.parent.mkdir(parents=True)
        index.write_text(f"sha256:{digest}")
    layer = made.blob(os.urandom(50_000))
    (app / f"_layers/sha256/{layer}").mkdir(parents=True)
    (app / f"_layers/sha256/{layer}/link").write_text(f"sha256:{layer}")
    (app / "_uploads/0d4c/data").parent.mkdir(parents=True)
    (app / "_uploads/0d4c/data").write_bytes(b"half an upload")
    return made


@pytest.fixture
def sent_keys(monkeypatch) -> list[str]:
    """The keys the move sends, in the order it sends them."""
    sent: list[str] = []
    make_client = moving.make_client

    def recording_client(parameters):
        client = make_client(parameters)
        # A handler must answer None: anything else would stand for the bucket's answer.
        client.meta.events.register(
            "before-parameter-build.s3.PutObject", lambda params, **_: sent.append(params["Key"])
        )
        return client

    monkeypatch.setattr(moving, "make_client", recording_client)
    return sent


def move(*arguments: str) -> str:
    out = io.StringIO()
    call_command("move_storage", *arguments, stdout=out)
    return out.getvalue()


def kind_of(key: str) -> str:
    if "/blobs/" in key:
        return "blob"
    if "/_manifests/tags/" not in key:
        return "link"
    return "tag" if key.endswith("/current/link") else "tag index"


def test_it_copies_blobs_then_links_then_tags_and_leaves_uploads_out(
    filesystem, seaweedfs, bucket_root, sent_keys
):
    out = move(seaweedfs.storage_url(rootdirectory=bucket_root))

    kinds = [kind_of(key) for key in sent_keys]
    assert kinds == sorted(kinds, key=["blob", "link", "tag index", "tag"].index)
    assert kinds.count("blob") == 3 and kinds.count("tag") == 2
    assert all(key.startswith(f"{bucket_root[1:]}/docker/registry/v2/") for key in sent_keys)
    assert not any("_uploads" in key for key in sent_keys)
    stored = seaweedfs.stored_bytes(prefix=bucket_root[1:] + "/")
    on_disk = sum(
        path.stat().st_size
        for path in filesystem.root.rglob("*")
        if path.is_file() and "_uploads" not in path.parts
    )
    assert stored == on_disk
    assert "  blobs: 3 files, " in out
    assert "  tags' current links: 2 files, 142 bytes copied" in out
    assert "left out: 1 file of uploads in progress" in out
    assert "checked: the bucket holds every one of the 10 files with its size" in out


def test_a_second_run_sends_only_what_is_new_or_changed(
    filesystem, seaweedfs, bucket_root, sent_keys
):
    url = seaweedfs.storage_url(rootdirectory=bucket_root)
    move(url)
    # A tag pushed again (its link keeps its size, not its content) and a new tag.
    filesystem.tag("alice/app", "v1", b"manifest v1, again" * 500)
    filesystem.tag("alice/app", "v3", b"manifest v3" * 500)
    sent_keys.clear()

    out = move(url)

    assert sorted(key.split("/v2/")[1] for key in sent_keys if kind_of(key) == "tag") == [
        "repositories/alice/app/_manifests/tags/v1/current/link",
        "repositories/alice/app/_manifests/tags/v3/current/link",
    ]
    assert [kind_of(key) for key in sent_keys].count("blob") == 2
    assert "  blobs: 2 files, " in out and "; 3 files, " in out
    assert "  tags' current links: 2 files, 142 bytes copied; 1 file, 71 bytes already" in out
    sent_keys.clear()
    assert ": 0 files, 0 bytes copied, 15 already there" in move(url)
    assert sent_keys == []


def test_it_refuses_what_it_cannot_copy_into_or_from(filesystem, seaweedfs, settings, tmp_path):
    with pytest.raises(CommandError, match="There is no bucket nowhere at http://127.0.0.1:"):
        move(seaweedfs.storage_url("nowhere"))
    with pytest.raises(CommandError, match="must be S3-compatible storage"):
        move(f"file://{tmp_path}/elsewhere")
    with pytest.raises(CommandError, match=r"TARGET_STORAGE_URL .* bucket's name") as refused:
        move("s3://KEY:hunter2@127.0.0.1:9/No_Such")
    assert "hunter2" not in str(refused.value)
    settings.REGISTRY_CONFIG.write_text(json.dumps({"storage": {"s3": {"bucket": "registry"}}}))
    with pytest.raises(CommandError, match="names the s3 driver already"):
        move(seaweedfs.storage_url())


def test_it_takes_the_target_from_registry_storage_url(
    filesystem, seaweedfs, bucket_root, settings
):
    settings.REGISTRY_STORAGE = seaweedfs.storage(rootdirectory=bucket_root)

    out = move()

    assert f"under {bucket_root}." in out
    assert seaweedfs.stored_bytes(prefix=bucket_root[1:] + "/") > 0
    settings.REGISTRY_STORAGE = None
    with pytest.raises(CommandError, match="Give TARGET_STORAGE_URL"):
        move()


# -- with real pushes ----------------------------------------------------------------------


@pytest.fixture
def our_registry(live_server, tmp_path):
    """Ours for this test (the settings say so), on a filesystem storage of its own."""
    registry = start_our_registry(tmp_path / "ours", live_server.url, free_port())
    with serving_as_ours(registry):
        yield registry
    registry.stop()


@pytest.mark.registry
@pytest.mark.django_db(transaction=True)
def test_a_registry_on_the_bucket_serves_every_tag_the_filesystem_held(
    our_registry, push_image, buildah, alice, live_server, seaweedfs, bucket_root, tmp_path
):
    shop = push_four_tags(push_image, buildah, alice, "shop")
    push_image(alice, "tools", tag="v1")
    recorded = {
        (tag.image.name.split("/", 1)[1], tag.name): tag.digest
        for tag in Tag.objects.select_related("image")
    }
    assert len(recorded) == 5

    out = move(seaweedfs.storage_url(rootdirectory=bucket_root))

    on_the_bucket = start_our_registry(
        tmp_path / "on-the-bucket",
        live_server.url,
        free_port(),
        seaweedfs.storage(rootdirectory=bucket_root),
        notify=False,
    )
    try:
        for (repository, tag), digest in recorded.items():
            token = service_token([f"repository:{repository}:pull"])
            assert pull(on_the_bucket.url, repository, tag, token) == digest
    finally:
        on_the_bucket.stop()
    assert shop["d"].digest == recorded[("alice/shop", "d")]
    assert "0 already there" in out
    again = move(seaweedfs.storage_url(rootdirectory=bucket_root))
    assert ": 0 files, 0 bytes copied, " in again
