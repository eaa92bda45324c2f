"""Real registries and real buildah for the tests: no mocks, no downloads.

`start_registry` runs Debian's docker-registry (CNCF Distribution) on a free port with its
storage in a temporary directory; `buildah` builds images from Debian's busybox-static.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt
import pytest
import requests
from django.conf import settings

BUSYBOX = Path("/bin/busybox")
BASE_IMAGE = "localhost/tutumweb-test-base:latest"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The registries that stand in for "another registry" run on loopback, which the outbound
# policy refuses unless the operator lists the host: list them, as an operator would list a
# registry on their own network (their ports are chosen now, so that the settings, and the
# environment of the processes tests start, hold them from the start).
PLAIN_PORT, HTPASSWD_PORT = free_port(), free_port()
settings.INSECURE_REGISTRIES = [
    *settings.INSECURE_REGISTRIES,
    f"127.0.0.1:{PLAIN_PORT}",
    f"127.0.0.1:{HTPASSWD_PORT}",
]


@dataclass
class RegistryProcess:
    host: str
    url: str
    process: subprocess.Popen
    log_path: Path
    root: Path
    username: str = ""
    password: str = ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_registry(root: Path, extra_config: dict | None = None, port: int | None = None):
    """Start docker-registry with storage under `root`; `extra_config` adds top-level keys."""
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {
            "filesystem": {"rootdirectory": str(root / "storage")},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}"},
        **(extra_config or {}),
    }
    (root / "config.yml").write_text(json.dumps(config, indent=2))
    log_path = root / "registry.log"
    process = subprocess.Popen(
        ["docker-registry", "serve", str(root / "config.yml")],
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log_path.read_text()[-2000:]}")
        try:
            requests.get(f"{url}/v2/", timeout=5)
            break
        except requests.RequestException:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError(f"docker-registry did not answer: {log_path.read_text()[-2000:]}")
    return RegistryProcess(f"127.0.0.1:{port}", url, process, log_path, root)


class BuildahError(RuntimeError):
    pass


@dataclass
class Buildah:
    """buildah with its own vfs storage (daemonless, chroot isolation, works as root)."""

    root: Path
    _base_built: bool = field(default=False, init=False)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [
            "buildah",
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "run"),
            "--storage-driver",
            "vfs",
            *args,
        ]
        env = {
            **os.environ,
            "BUILDAH_ISOLATION": "chroot",
            "REGISTRY_AUTH_FILE": str(self.root / "auth.json"),
        }
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        if check and result.returncode != 0:
            raise BuildahError(f"buildah {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result

    def build_base(self) -> str:
        """A scratch image holding busybox and its applets as symlinks (/bin/sh and friends)."""
        if self._base_built:
            return BASE_IMAGE
        rootfs = self.root / "rootfs"
        (rootfs / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
        for applet in ("sh", "echo", "cat", "ls", "true", "false", "test", "sleep", "env"):
            link = rootfs / "bin" / applet
            if not link.exists():
                link.symlink_to("busybox")
        container = self.run("from", "scratch").stdout.strip()
        self.run("copy", container, f"{rootfs}/", "/")
        self.run("config", "--env", "PATH=/bin", "--cmd", "/bin/sh", container)
        self.run("commit", "--quiet", "--rm", container, BASE_IMAGE)
        self._base_built = True
        return BASE_IMAGE

    def make_image(
        self,
        ref: str,
        *,
        env: dict | None = None,
        labels: dict | None = None,
        ports: tuple[str, ...] = (),
        volumes: tuple[str, ...] = (),
        entrypoint: str | None = None,
        cmd: str | None = None,
        author: str | None = None,
        docker_format: bool = False,
        files: dict[str, bytes] | None = None,
    ) -> str:
        """Commit a variant of the base image with the given config, as `ref`; `files`
        (path → content) go into a layer of their own above the base's."""
        container = self.run("from", "--pull-never", self.build_base()).stdout.strip()
        for number, (path, content) in enumerate((files or {}).items()):
            source = self.root / f"file-{number}"
            source.write_bytes(content)
            self.run("copy", container, str(source), path)
        options: list[str] = []
        for key, value in (env or {}).items():
            options += ["--env", f"{key}={value}"]
        for key, value in (labels or {}).items():
            options += ["--label", f"{key}={value}"]
        for port in ports:
            options += ["--port", port]
        for volume in volumes:
            options += ["--volume", volume]
        if entrypoint is not None:
            options += ["--entrypoint", entrypoint]
        if cmd is not None:
            options += ["--cmd", cmd]
        if author is not None:
            options += ["--author", author]
        self.run("config", *options, container)
        fmt = ["--format", "docker"] if docker_format else []
        self.run("commit", "--quiet", "--rm", *fmt, container, ref)
        return ref

    def push(
        self, ref: str, destination: str, creds: str | None = None, *, check: bool = True
    ) -> str | subprocess.CompletedProcess:
        """Push to `destination` (host/repo:tag); returns the manifest digest."""
        digest_file = self.root / "digest"
        args = ["push", "--tls-verify=false", "--digestfile", str(digest_file)]
        if creds:
            args += ["--creds", creds]
        result = self.run(*args, ref, f"docker://{destination}", check=check)
        if not check:
            return result
        return digest_file.read_text().strip()

    def push_index(self, refs: list[str], destination: str, creds: str | None = None) -> str:
        """Push an OCI index of `refs` (a multi-platform image) to `destination`."""
        name = f"localhost/index-{abs(hash(destination))}"
        self.run("manifest", "rm", name, check=False)
        self.run("manifest", "create", name)
        for ref in refs:
            self.run("manifest", "add", name, ref)
        digest_file = self.root / "index-digest"
        args = ["manifest", "push", "--all", "--tls-verify=false", "--digestfile", str(digest_file)]
        if creds:
            args += ["--creds", creds]
        self.run(*args, name, f"docker://{destination}")
        return digest_file.read_text().strip()


def _remove_tree(path: Path) -> None:
    def make_writable(function, name, _):
        os.chmod(name, stat.S_IRWXU)
        function(name)

    shutil.rmtree(path, onerror=make_writable)


@pytest.fixture(scope="session")
def buildah(tmp_path_factory):
    helper = Buildah(tmp_path_factory.mktemp("buildah"))
    (helper.root / "auth.json").write_text('{"auths": {}}')
    yield helper
    helper.run("rm", "--all", check=False)
    helper.run("rmi", "--all", "--force", check=False)
    _remove_tree(helper.root)


@pytest.fixture(scope="session")
def plain_registry(tmp_path_factory):
    """A registry without authentication (stands in for Docker Hub in tests)."""
    registry = start_registry(tmp_path_factory.mktemp("plain-registry"), port=PLAIN_PORT)
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def htpasswd_registry(tmp_path_factory):
    """A private registry with Basic (htpasswd, bcrypt) authentication."""
    root = tmp_path_factory.mktemp("htpasswd-registry")
    username, password = "robot", "Robot-Passw0rd"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
    (root / "htpasswd").write_text(f"{username}:{hashed}\n")
    registry = start_registry(
        root,
        {"auth": {"htpasswd": {"realm": "test-realm", "path": str(root / "htpasswd")}}},
        port=HTPASSWD_PORT,
    )
    registry.username, registry.password = username, password
    yield registry
    registry.stop()
