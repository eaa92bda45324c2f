"""`manage.py backup DIR` and `manage.py restore DIR`: what a backup holds and refuses, what a
restore checks before it writes anything, the storage lock that keeps deletions away while a
backup copies, and the whole story with real processes: a backup taken while pushes run,
restored onto an empty data directory and started as a fresh installation, where every tag
pulls with its digest, the API key and the team token work and the recycle bin restores."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from records.models import BinEntry, Tag
from registry import locks
from registry import tokens as registry_token
from tests.fixtures.api import ApiClient
from tests.fixtures.instance import pull
from tests.fixtures.postgres import driver_environment
from tutumweb.backups import archive
from tutumweb.backups.archive import BackupError
from tutumweb.backups.restore import Target, restore
from tutumweb.backups.take import take
from tutumweb.housekeeping import reclaim

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
BLOBS = "docker/registry/v2/blobs/sha256"
REPOSITORIES = "docker/registry/v2/repositories"


class Storage:
    """A registry storage laid out as CNCF Distribution's filesystem driver lays it out."""

    def __init__(self, root: Path):
        self.root = root
        (root / REPOSITORIES).mkdir(parents=True, exist_ok=True)

    def blob(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        path = self.root / BLOBS / digest[:2] / digest / "data"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return digest

    def tag(self, repository: str, tag: str, content: bytes) -> str:
        """A blob standing for a manifest, its revision link and the tag's link to it."""
        digest = self.blob(content)
        manifests = self.root / REPOSITORIES / repository / "_manifests"
        for link in (f"revisions/sha256/{digest}/link", f"tags/{tag}/current/link"):
            (manifests / link).parent.mkdir(parents=True, exist_ok=True)
            (manifests / link).write_text(f"sha256:{digest}")
        return digest

    def blob_path(self, digest: str) -> Path:
        return self.root / BLOBS / digest[:2] / digest / "data"


@pytest.fixture
def storage(settings, tmp_path) -> Storage:
    """Our registry's config (filesystem driver) with a storage of two tags of alice/app."""
    registry_token.ensure_signing_key()
    root = tmp_path / "registry-storage"
    settings.REGISTRY_CONFIG = tmp_path / "registry-config.yml"
    config = {"storage": {"filesystem": {"rootdirectory": str(root)}}}
    settings.REGISTRY_CONFIG.write_text(json.dumps(config))
    made = Storage(root)
    made.tag("alice/app", "v1", b"manifest one" * 1000)
    made.tag("alice/app", "v2", b"manifest two" * 1000)
    return made


def back_up(directory: Path, *arguments: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("backup", str(directory), *arguments, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def target_in(directory: Path) -> Target:
    """A restore's target: a new data directory with its SQLite database inside."""
    return Target(
        data_dir=directory,
        database={"ENGINE": "django.db.backends.sqlite3", "NAME": str(directory / "db.sqlite3")},
        token_key=directory / "registry" / "token.key",
        registry_config=directory / "registry" / "config.yml",
    )


def modes(directory: Path) -> set[tuple[str, int]]:
    """The permission bits of everything under `directory`, by kind."""
    found = {("directory", stat.S_IMODE(directory.stat().st_mode))}
    for path in directory.rglob("*"):
        kind = "directory" if path.is_dir() else "file"
        found.add((kind, stat.S_IMODE(path.stat().st_mode)))
    return found


# -- what a backup holds ---------------------------------------------------------------------


def test_a_backup_holds_the_database_the_keys_and_the_storage_for_its_owner_only(
    storage, make_account, tmp_path
):
    make_account("alice")
    backup = tmp_path / "backup"

    out, _ = back_up(backup)

    assert modes(backup) == {("directory", 0o700), ("file", 0o600)}
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["complete"] is True
    assert manifest["database"]["engine"] == "sqlite"
    # Two manifests of 12,000 bytes, and four links of 71 ("sha256:" and 64 hex digits).
    assert manifest["storage"] == {
        "driver": "filesystem",
        "copied": True,
        "files": 6,
        "bytes": 24_284,
    }
    assert manifest["secrets"]["token_key"] == manifest["secrets"]["registry_config"] == "included"
    users = sqlite3.connect(backup / "database.sqlite3").execute("SELECT username FROM auth_user")
    assert [row[0] for row in users] == ["alice"]
    assert "database (SQLite)" in out
    assert "registry storage (filesystem): 6 files, 24.3 KB copied" in out


def test_every_file_of_a_backup_matches_the_checksums_it_lists(storage, tmp_path):
    backup = tmp_path / "backup"
    back_up(backup)

    manifest = json.loads((backup / "manifest.json").read_text())
    for name, listed in manifest["files"].items():
        assert archive.checksum(backup / name) == listed
    checked = subprocess.run(
        ["sha256sum", "--check", "--strict", "storage.sha256"],
        cwd=backup,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count(": OK") == 6


def test_it_refuses_to_back_up_into_a_directory_holding_other_files(storage, tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"meow")

    with pytest.raises(CommandError, match="holds files that are not a tutumweb backup"):
        back_up(tmp_path / "photos")

    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["cat.jpg"]


def test_a_repeated_backup_copies_only_new_blobs_and_drops_what_the_registry_no_longer_holds(
    storage, tmp_path
):
    backup = tmp_path / "backup"
    back_up(backup)
    storage.tag("alice/app", "v3", b"manifest three" * 1000)
    old = storage.tag("alice/old", "v1", b"old manifest" * 1000)
    back_up(backup)
    # What garbage collection and the recycle bin take away between two backups.
    storage.blob_path(old).unlink()
    for path in sorted((storage.root / REPOSITORIES / "alice/old").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (storage.root / REPOSITORIES / "alice/old").rmdir()
    storage.tag("alice/app", "v4", b"manifest four" * 1000)

    out, _ = back_up(backup)

    # v4's blob (13,000 bytes) and its two links (71 bytes each) are copied; the three other
    # blobs (38,000 bytes) and their six links are there already; alice/old's go.
    assert "registry storage (filesystem): 3 files, 13.1 KB copied" in out
    assert "9 files, 38.4 KB already in the backup" in out
    assert "3 files the registry no longer holds removed" in out
    assert not (backup / "storage" / REPOSITORIES / "alice/old").exists()
    assert not (backup / "storage" / BLOBS / old[:2] / old).exists()
    listed = (backup / "storage.sha256").read_text()
    assert listed.count("\n") == 12 and "alice/old" not in listed
    assert restore(backup, target_in(tmp_path / "restored")).storage_bytes == 51_568


def test_it_never_follows_a_symbolic_link_out_of_the_storage(storage, tmp_path):
    secret = tmp_path / "elsewhere"
    secret.mkdir()
    (secret / "id_rsa").write_text("not for the backup")
    (storage.root / REPOSITORIES / "alice" / "sneaky").symlink_to(secret)
    (storage.root / REPOSITORIES / "alice" / "key").symlink_to(secret / "id_rsa")
    backup = tmp_path / "backup"

    out, _ = back_up(backup)

    assert "2 symbolic links not followed" in out
    assert not any("not for the backup" in p.read_text(errors="replace") for p in _files(backup))


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


def test_it_warns_that_secrets_kept_in_the_environment_are_not_in_the_backup(
    storage, settings, monkeypatch, tmp_path
):
    monkeypatch.setenv("SECRET_KEY", "the-secret-key-from-the-environment")
    settings.ENCRYPTION_KEY = "the-encryption-key-from-the-environment"
    backup = tmp_path / "backup"

    out, err = back_up(backup)

    assert "warning: SECRET_KEY is set in the environment" in err
    assert "keep it with the backup yourself" in err
    assert "warning: ENCRYPTION_KEY is set in the environment" in err
    manifest = json.loads((backup / "manifest.json").read_text())
    assert (
        manifest["secrets"]["secret_key"]
        == manifest["secrets"]["encryption_key"]
        == ("environment")
    )
    # The values themselves are never printed nor written.
    for text in (out, err, *(p.read_text(errors="replace") for p in _files(backup))):
        assert "from-the-environment" not in text


def test_the_secret_key_file_the_runner_made_is_in_the_backup(storage, settings, tmp_path):
    (settings.DATA_DIR / "secret_key").write_text("generated-by-make-run\n")
    try:
        backup = tmp_path / "backup"
        back_up(backup)
    finally:
        (settings.DATA_DIR / "secret_key").unlink()

    assert (backup / "secrets" / "secret_key").read_text() == "generated-by-make-run\n"
    assert json.loads((backup / "manifest.json").read_text())["secrets"]["secret_key"] == (
        "included"
    )


def test_object_storage_is_not_copied_and_the_backup_says_so(settings, tmp_path):
    settings.REGISTRY_CONFIG = tmp_path / "config.yml"
    settings.REGISTRY_CONFIG.write_text(
        "storage:\n  s3:\n    bucket: registry\n  delete:\n    enabled: true\n"
    )
    backup = tmp_path / "backup"

    out, err = back_up(backup)

    assert "registry storage (s3 driver): NOT copied" in out
    assert "warning: The registry's storage was NOT copied: the s3 driver keeps it" in err
    assert json.loads((backup / "manifest.json").read_text())["storage"] == {
        "driver": "s3",
        "copied": False,
    }
    assert not (backup / "storage").exists()


def test_a_storage_command_copies_object_storage_while_deletions_are_held(settings, tmp_path):
    settings.REGISTRY_CONFIG = tmp_path / "config.yml"
    settings.REGISTRY_CONFIG.write_text("storage:\n  s3:\n    bucket: registry\n")
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    (bucket / "blob").write_bytes(b"object")
    # Stands for `aws s3 sync`, and checks that it runs while deletions are held off: a
    # deletion's shared hold on the storage lock is refused.
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import fcntl, os, shutil, sys\n"
        f"fd = os.open({str(locks.lock_directory() / 'storage.lock')!r}, os.O_RDWR)\n"
        "try:\n"
        "    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)\n"
        "    sys.exit('deletions were not held off')\n"
        "except BlockingIOError:\n"
        f"    shutil.copytree({str(bucket)!r}, {str(tmp_path / 'bucket-copy')!r})\n"
    )
    backup = tmp_path / "backup"

    out, _ = back_up(backup, "--storage-command", f"python3 {probe}")

    assert "registry storage (s3): --storage-command copied it in" in out
    assert (tmp_path / "bucket-copy" / "blob").read_bytes() == b"object"
    storage = json.loads((backup / "manifest.json").read_text())["storage"]
    assert storage == {"driver": "s3", "copied": False, "copied_by_command": True}

    with pytest.raises(CommandError, match="--storage-command exited with 1"):
        back_up(tmp_path / "second", "--storage-command", "false")
    with pytest.raises(BackupError, match="did not finish"):
        archive.read_manifest(tmp_path / "second")


# -- restoring -------------------------------------------------------------------------------


def test_restore_puts_the_database_the_keys_and_the_storage_in_place(
    storage, make_account, tmp_path
):
    make_account("alice")
    backup = tmp_path / "backup"
    back_up(backup)
    restored_dir = tmp_path / "restored"

    restored = restore(backup, target_in(restored_dir))

    users = sqlite3.connect(restored_dir / "db.sqlite3").execute("SELECT username FROM auth_user")
    assert [row[0] for row in users] == ["alice"]
    assert (restored_dir / "registry" / "token.key").read_bytes() == (
        settings.REGISTRY_TOKEN_KEY.read_bytes()
    )
    config = json.loads((restored_dir / "registry" / "config.yml").read_text())
    assert config["storage"]["filesystem"]["rootdirectory"] == str(
        restored_dir / "registry" / "storage"
    )
    for path in _files(storage.root):
        relative = path.relative_to(storage.root)
        assert (restored_dir / "registry" / "storage" / relative).read_bytes() == path.read_bytes()
    assert modes(restored_dir) == {("directory", 0o700), ("file", 0o600)}
    assert restored.warnings == []


def test_restore_refuses_a_truncated_backup_and_writes_nothing(storage, tmp_path):
    backup = tmp_path / "backup"
    back_up(backup)
    blob = next((backup / "storage" / BLOBS).rglob("data"))
    blob.write_bytes(blob.read_bytes()[:100])
    restored_dir = tmp_path / "restored"

    with pytest.raises(BackupError, match=r"damaged: storage/docker/.*/data does not match"):
        restore(backup, target_in(restored_dir))
    assert not restored_dir.exists()

    (backup / "database.sqlite3").write_bytes(b"SQLite format 3\0")
    with pytest.raises(BackupError, match="database.sqlite3 has 16 bytes instead of"):
        restore(backup, target_in(restored_dir))
    assert not restored_dir.exists()


def test_restore_refuses_a_backup_that_did_not_finish(storage, tmp_path):
    backup = tmp_path / "backup"
    back_up(backup)
    manifest = json.loads((backup / "manifest.json").read_text())
    (backup / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))

    with pytest.raises(BackupError, match="did not finish"):
        restore(backup, target_in(tmp_path / "restored"))
    (backup / "manifest.json").unlink()
    with pytest.raises(BackupError, match="is not a tutumweb backup: it has no manifest.json"):
        restore(backup, target_in(tmp_path / "restored"))


def test_restore_refuses_a_data_directory_that_is_not_empty_unless_forced(storage, tmp_path):
    backup = tmp_path / "backup"
    back_up(backup)
    restored_dir = tmp_path / "restored"
    (restored_dir / "registry" / "storage").mkdir(parents=True)
    (restored_dir / "registry" / "storage" / "stale").write_text("from before")
    (restored_dir / "db.sqlite3").write_text("an older database")

    with pytest.raises(BackupError, match="is not empty. A restore replaces the database"):
        restore(backup, target_in(restored_dir))
    assert (restored_dir / "db.sqlite3").read_text() == "an older database"

    restore(backup, target_in(restored_dir), force=True)
    assert not (restored_dir / "registry" / "storage" / "stale").exists()
    assert sqlite3.connect(restored_dir / "db.sqlite3").execute("PRAGMA quick_check").fetchone()


def test_restore_refuses_a_database_of_another_kind(storage, tmp_path):
    backup = tmp_path / "backup"
    back_up(backup)
    target = target_in(tmp_path / "restored")
    target.database = {"ENGINE": "django.db.backends.postgresql", "NAME": "tutumweb"}

    with pytest.raises(BackupError, match="holds a SQLite database and DATABASE_URL names a"):
        restore(backup, target)
    assert not (tmp_path / "restored").exists()


def test_it_refuses_to_back_up_into_the_registrys_own_storage(storage):
    with pytest.raises(CommandError, match="is inside the registry's storage"):
        back_up(storage.root / "backup")


def test_restore_refuses_a_backup_taken_by_newer_code(storage, tmp_path):
    backup = tmp_path / "backup"
    back_up(backup)
    manifest = json.loads((backup / "manifest.json").read_text())
    manifest["migrations"].append("api.9999_from_the_future")
    (backup / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(BackupError, match=r"newer tutumweb.*api\.9999_from_the_future"):
        restore(backup, target_in(tmp_path / "restored"))


# -- deletions wait while a backup copies the storage ---------------------------------------


def test_deleting_a_tag_is_refused_while_a_backup_copies_the_storage(make_image, alice):
    image = make_image(alice, "app", tags=("latest",))

    with locks.storage_kept(wait=5):
        response = ApiClient(alice.basic()).delete(f"/api/v1/image/{image.name}/tag/latest/")

    assert response.status_code == 503
    assert response["Retry-After"] == "120"
    assert "A backup is copying our registry's storage" in response.json()["error"]
    assert Tag.objects.filter(image=image, name="latest").exists()
    assert not BinEntry.objects.exists()


def test_housekeeping_postpones_purging_and_collecting_while_a_backup_copies_the_storage(
    storage, make_image, alice
):
    image = make_image(alice, "app", tags=("old",))
    BinEntry.objects.create(
        kind=BinEntry.Kind.TAG,
        image=image,
        image_name=image.name,
        tag_name="old",
        deleted_at=timezone.now() - timedelta(days=settings.RECYCLE_DAYS + 1),
    )

    with locks.storage_kept(wait=5):
        reclaimed = reclaim()

    assert reclaimed.purged.postponed
    assert reclaimed.collected is None
    assert reclaimed.skipped.startswith("A backup is copying our registry's storage")
    assert BinEntry.objects.count() == 1


def test_a_backup_waits_for_a_deletion_under_way_and_gives_up_after_its_wait():
    deleting, done = threading.Event(), threading.Event()

    def delete():
        with locks.deleting_from_storage():
            deleting.set()
            done.wait(30)

    worker = threading.Thread(target=delete)
    worker.start()
    deleting.wait(10)
    told = []
    try:
        with (
            pytest.raises(TimeoutError, match="still deleting"),
            locks.storage_kept(wait=0.3, on_wait=lambda: told.append("waiting")),
        ):
            pass
    finally:
        done.set()
        worker.join()

    assert told == ["waiting"]
    with (
        locks.storage_kept(wait=5),
        pytest.raises(locks.StorageHeld),
        locks.deleting_from_storage(),
    ):
        pass


# -- the whole story, with real processes ----------------------------------------------------


class Pusher(threading.Thread):
    """Keeps pushing new tags (each with a layer of its own) to alice/busy until stopped."""

    def __init__(self, buildah, registry, alice):
        super().__init__(daemon=True)
        self.buildah, self.registry, self.alice = buildah, registry, alice
        self.stopping = threading.Event()
        self.pushed: list[tuple[str, str, float]] = []  # tag, digest, when it finished
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            number = 0
            while not self.stopping.is_set():
                number += 1
                ref = self.buildah.make_image(
                    f"localhost/busy:{number}", files={"/busy": os.urandom(100_000)}
                )
                destination = f"{self.registry.host}/alice/busy:{number}"
                creds = f"{self.alice.username}:{self.alice.key}"
                digest = self.buildah.push(ref, destination, creds)
                self.pushed.append((str(number), digest, time.monotonic()))
        except Exception as error:  # reported by the test, in its own thread
            self.error = error

    def wait_for(self, count: int, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while len(self.pushed) < count:
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"only {len(self.pushed)} pushes"
            time.sleep(0.1)


def recorded_tags(database: Path) -> dict[tuple[str, str], str]:
    """(repository, tag) -> digest of every pushed tag a restored database records."""
    rows = sqlite3.connect(database).execute(
        "SELECT image.name, tag.name, tag.digest FROM api_tag tag"
        " JOIN api_image image ON image.id = tag.image_id WHERE tag.digest != ''"
    )
    return {(name.split("/", 1)[1], tag): digest for name, tag, digest in rows}


@pytest.mark.registry
def test_a_backup_taken_while_pushes_run_restores_onto_an_empty_data_directory(
    live_server, our_registry, push_image, buildah, alice, make_team, make_instance, tmp_path
):
    from tests.fixtures.our_registry import push_four_tags, wait_for_tag

    # An installation with data: alice's tags (a, b, c, d; d on a's manifest), a team's image
    # with an access token, and b in the recycle bin.
    shop = push_four_tags(push_image, buildah, alice, "shop")
    make_team("web", alice="Owner")
    site = f"{our_registry.host}/web/site"
    site_digest = buildah.push(buildah.build_base(), f"{site}:v1", f"alice:{alice.key}")
    wait_for_tag(site, "v1", site_digest)
    owner = ApiClient(alice.basic())
    token = owner.post(
        "/api/v1/team/web/token/",
        {"name": "ci", "expires": (timezone.now() + timedelta(days=1)).isoformat()},
    ).json()
    assert owner.delete(f"/api/v1/image/{shop['b'].name}/tag/b/").status_code == 204
    in_bin = BinEntry.objects.get(tag_name="b")
    pusher = Pusher(buildah, our_registry, alice)
    pusher.start()
    pusher.wait_for(1)
    refused = []

    def during_the_copy(_copied) -> None:
        if refused:
            return
        # The database's snapshot is taken: a deletion now is refused, and a push goes on
        # (it lands in the storage while the copy runs, or after it).
        response = requests.delete(
            f"{live_server.url}/api/v1/image/{shop['c'].name}/tag/c/",
            headers={"Authorization": alice.basic()},
            timeout=30,
        )
        refused.append(response.status_code)
        pusher.wait_for(len(pusher.pushed) + 1)

    before_backup = time.monotonic()
    backup = tmp_path / "backup"
    take(backup, progress=during_the_copy)
    pusher.stopping.set()
    pusher.join(timeout=120)
    assert pusher.error is None
    assert refused == [503]

    # Restored onto an empty data directory and started as a fresh installation, whose
    # registry listens elsewhere but whose image names are the old ones.
    data_dir = tmp_path / "restored"
    instance = make_instance(
        data_dir, f"sqlite:///{data_dir / 'db.sqlite3'}", registry_host=our_registry.host
    )
    restored = instance.manage("restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "every checksum matches" in restored.stdout
    instance.start_api()
    instance.start_registry()

    recorded = recorded_tags(data_dir / "db.sqlite3")
    assert {key: recorded[key] for key in [("alice/shop", t) for t in "acd"]} == {
        ("alice/shop", t): shop[t].digest for t in "acd"
    }
    assert recorded[("web/site", "v1")] == site_digest
    assert ("alice/shop", "b") not in recorded
    for (repository, tag), digest in recorded.items():
        grant = instance.registry_token("alice", alice.key, f"repository:{repository}:pull")
        assert pull(instance.registry_url, repository, tag, grant["token"]) == digest

    # The API key and the team token work against the restored API.
    auth = requests.get(f"{instance.api_url}/api/v1/auth/", auth=("alice", alice.key), timeout=30)
    assert auth.status_code == 200
    grant = instance.registry_token(token["username"], token["secret"], "repository:web/site:pull")
    assert pull(instance.registry_url, "web/site", "v1", grant["token"]) == site_digest

    # The recycle bin restores: b is back with its digest.
    response = requests.post(
        f"{instance.api_url}/api/v1/deleted/{in_bin.pk}/restore/",
        headers={"Authorization": alice.basic()},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    grant = instance.registry_token("alice", alice.key, "repository:alice/shop:pull")
    assert pull(instance.registry_url, "alice/shop", "b", grant["token"]) == shop["b"].digest

    # The sync finds no tag the copy left half copied, and records the pushes the database's
    # snapshot missed: every push finished before the backup began is there.
    synced = instance.manage("sync_registry")
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.strip().endswith(" 0 failed"), synced.stdout
    recorded = recorded_tags(data_dir / "db.sqlite3")
    for tag, digest, finished in pusher.pushed:
        if finished < before_backup:
            assert recorded[("alice/busy", tag)] == digest


def test_a_postgresql_backup_restores_into_an_empty_database(postgres, tmp_path):
    """On PostgreSQL (pg_dump, pg_restore): an installation's database, restored into a new
    database, signs its API key in; a database that holds tables is refused."""
    server = ["-h", "127.0.0.1", "-p", str(postgres.port), "-U", "tutumweb"]
    for name in ("backup_source", "backup_restored"):
        subprocess.run(["dropdb", *server, "--if-exists", name], check=True)
        subprocess.run(["createdb", *server, name], check=True)
    source = f"postgres://tutumweb@127.0.0.1:{postgres.port}/backup_source"
    target = f"postgres://tutumweb@127.0.0.1:{postgres.port}/backup_restored"
    environment = driver_environment(source, DATA_DIR=str(tmp_path / "var"))

    def manage(*arguments: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env={**environment, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    made = manage("migrate", "--verbosity=0")
    assert made.returncode == 0, made.stderr
    key = manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from records.models import ApiKey;"
        "print(ApiKey.issue(User.objects.create_user('alice'))[1])",
    ).stdout.split()[-1]
    backup = tmp_path / "backup"
    taken = manage("backup", str(backup))
    assert taken.returncode == 0, taken.stderr
    assert "database (PostgreSQL)" in taken.stdout

    elsewhere = {"DATA_DIR": str(tmp_path / "restored")}
    refused = manage("restore", str(backup), **elsewhere)
    assert refused.returncode != 0
    assert "Restore into an empty database: the database backup_source holds" in refused.stderr
    restored = manage("restore", str(backup), **elsewhere, DATABASE_URL=target)
    assert restored.returncode == 0, restored.stderr

    signed_in = manage(
        "shell",
        "-c",
        f"from accounts.credentials import api_key_for; print(api_key_for('alice', '{key}'))",
        **elsewhere,
        DATABASE_URL=target,
    )
    assert signed_in.returncode == 0, signed_in.stderr
    assert signed_in.stdout.split()[-1] not in ("", "None")

    # The storage lock as an advisory lock: each thread is a session of its own.
    held = manage("shell", "-c", STORAGE_LOCK_ON_POSTGRESQL)
    assert held.returncode == 0, held.stderr
    assert held.stdout.split()[-2:] == ["backup-waited", "deletion-refused"]


STORAGE_LOCK_ON_POSTGRESQL = """
import threading
from django.db import connection
from registry import locks
deleting, done = threading.Event(), threading.Event()
def delete():
    with locks.deleting_from_storage():
        deleting.set()
        done.wait(30)
    connection.close()
worker = threading.Thread(target=delete)
worker.start()
deleting.wait(10)
try:
    with locks.storage_kept(wait=0.3):
        print("backup-did-not-wait")
except TimeoutError:
    print("backup-waited")
done.set()
worker.join()
refused = []
def try_delete():
    try:
        with locks.deleting_from_storage():
            refused.append("deletion-allowed")
    except locks.StorageHeld:
        refused.append("deletion-refused")
    connection.close()
with locks.storage_kept(wait=5):
    other = threading.Thread(target=try_delete)
    other.start()
    other.join()
print(refused[0])
"""
