"""Figure: how long `manage.py backup` and `manage.py restore` take on an installation of a
given size, and what they cost over copying the same files with `cp -a`.

The installation is real: Debian's docker-registry (filesystem storage) holding TAGS tags in
20 repositories, each tag an OCI image with a layer of its own (LAYER_MB of random bytes,
which do not compress) on a base layer every image shares, and a SQLite database migrated and
filled by `manage.py sync_registry` from that registry. Then, each as its own process as an
operator runs it: a backup into a new directory, a second backup into the same directory (only
new blobs are copied: none here), `cp -a` of the storage and the database (the least a copy
can cost; it checks nothing), and a restore into an empty data directory. The times include
starting Django (about a second), as the operator waits for it.

Run: .venv/bin/python bench/backup.py [--tags 200] [--layer-mb 1.5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402

# The registry fixture reads the settings when imported: a throwaway installation's (this
# process only starts processes; each has an environment of its own).
harness.configure()
from tests.fixtures.registry import start_registry  # noqa: E402

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BASE_MB = 5


def upload(session: requests.Session, url: str, repository: str, content: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    if session.head(f"{url}/v2/{repository}/blobs/{digest}", timeout=30).status_code != 200:
        started = session.post(f"{url}/v2/{repository}/blobs/uploads/", timeout=30)
        started.raise_for_status()
        location = started.headers["Location"]
        location = location if location.startswith("http") else url + location
        separator = "&" if "?" in location else "?"
        session.put(
            f"{location}{separator}digest={digest}",
            data=content,
            headers={"Content-Type": "application/octet-stream"},
            timeout=120,
        ).raise_for_status()
    return {"mediaType": "application/octet-stream", "digest": digest, "size": len(content)}


def fill(url: str, tags: int, layer_bytes: int) -> None:
    session = requests.Session()
    base = os.urandom(BASE_MB * 1_000_000)
    for number in range(tags):
        repository = f"bench/app{number % 20:02d}"
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": "2026-01-01T00:00:00Z",
                "config": {"Env": [f"NUMBER={number}"]},
                "rootfs": {"type": "layers", "diff_ids": []},
            }
        ).encode()
        layers = [upload(session, url, repository, base)]
        layers.append(upload(session, url, repository, os.urandom(layer_bytes)))
        for layer in layers:
            layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
        described = upload(session, url, repository, config)
        described["mediaType"] = "application/vnd.oci.image.config.v1+json"
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": described,
            "layers": layers,
        }
        session.put(
            f"{url}/v2/{repository}/manifests/t{number}",
            data=json.dumps(manifest),
            headers={"Content-Type": OCI_MANIFEST},
            timeout=30,
        ).raise_for_status()


def manage(environment: dict, *arguments: str) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=harness.ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(arguments)} failed:\n{result.stderr}")
    return seconds, result.stdout


def tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--layer-mb", type=float, default=1.5)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tutumweb-bench-backup-"))
    try:
        run(work, arguments.tags, int(arguments.layer_mb * 1_000_000))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, tags: int, layer_bytes: int) -> None:
    data_dir = work / "var"
    port = harness.free_port()
    # Where `make run` keeps it: the backup finds the storage through DATA_DIR's config.
    registry = start_registry(data_dir / "registry", {"log": {"level": "error"}}, port=port)
    environment = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "tutumweb.settings",
        "SECRET_KEY": "bench-only-secret-key",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": f"sqlite:///{data_dir / 'db.sqlite3'}",
        "REGISTRY_HOST": f"127.0.0.1:{port}",
        "REGISTRY_URL": f"http://127.0.0.1:{port}",
        "REGISTRY_NOTIFICATION_SECRET": "bench-only",
        "LOG_LEVEL": "WARNING",
    }
    try:
        started = time.monotonic()
        fill(f"http://127.0.0.1:{port}", tags, layer_bytes)
        print(f"filled the registry with {tags} tags in {time.monotonic() - started:.1f} s")
        manage(environment, "migrate", "--verbosity=0")
        (data_dir / "secret_key").write_text("bench-only-secret-key\n")
        _, synced = manage(environment, "sync_registry")
        print(synced.strip())
        storage = data_dir / "registry" / "storage"
        database = data_dir / "db.sqlite3"
        print(
            f"storage {tree_bytes(storage) / 1e6:,.1f} MB in "
            f"{sum(1 for p in storage.rglob('*') if p.is_file()):,} files; database "
            f"{database.stat().st_size / 1e6:,.1f} MB"
        )

        backup = work / "backup"
        first, said = manage(environment, "backup", str(backup))
        print(f"\nbackup into a new directory: {first:.2f} s")
        print(_indent(said))
        again, said = manage(environment, "backup", str(backup))
        print(f"backup again into the same directory: {again:.2f} s")
        print(_indent(said))

        copy = work / "copy"
        started = time.monotonic()
        copy.mkdir()
        subprocess.run(["cp", "-a", str(storage), str(database), str(copy)], check=True)
        subprocess.run(["sync"], check=True)
        plain = time.monotonic() - started
        print(f"cp -a of the storage and the database, then sync: {plain:.2f} s")
        print(f"backup / cp -a: {first / plain:.2f}x")

        restored_dir = work / "restored"
        restored, said = manage(
            {
                **environment,
                "DATA_DIR": str(restored_dir),
                "DATABASE_URL": f"sqlite:///{restored_dir / 'db.sqlite3'}",
            },
            "restore",
            str(backup),
        )
        print(f"\nrestore into an empty data directory: {restored:.2f} s")
        print(_indent(said))
        assert tree_bytes(restored_dir / "registry" / "storage") == tree_bytes(storage)
    finally:
        registry.stop()


def _indent(text: str) -> str:
    return re.sub(r"(?m)^", "    ", text.strip())


if __name__ == "__main__":
    main()
