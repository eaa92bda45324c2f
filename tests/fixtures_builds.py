"""Builds for the tests: local bare git repositories served as GIT_BASE_URL (file://), the way
GitHub serves them, and real `manage.py build_worker` processes on the test database."""

from __future__ import annotations

import base64
import contextlib
import http.server
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from tests.fixtures_registry import BUSYBOX, _remove_tree

ROOT = Path(__file__).resolve().parent.parent

# A small image that needs no base image from the internet: busybox from the repository.
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV GREETING="hello world" PATH=/bin
LABEL org.example.team="builds" org.example.kind=test
EXPOSE 8080/tcp
VOLUME /data
# a comment between instructions
RUN echo "built on $(uname -m)" > /built.txt
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["echo $GREETING"]
"""


@dataclass
class GitServer:
    root: Path

    @property
    def base_url(self) -> str:
        return f"file://{self.root}"

    def repo(self, owner: str, name: str) -> Path:
        return self.root / owner / f"{name}.git"

    def push(
        self,
        owner: str,
        name: str,
        files: dict[str, str | bytes | Path],
        *,
        branch: str = "main",
        message: str = "Add the Dockerfile",
    ) -> str:
        """Commit `files` (a fresh tree) to `branch` of owner/name; returns the commit SHA."""
        bare = self.repo(owner, name)
        if not bare.exists():
            bare.parent.mkdir(parents=True, exist_ok=True)
            _git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
        work = self.root / ".work" / f"{owner}-{name}-{branch}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        _git("init", "--quiet", f"--initial-branch={branch}", cwd=work)
        for path, content in files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copy2(content, target)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        _git("add", "--all", cwd=work)
        _git("commit", "--quiet", "-m", message, cwd=work)
        _git("push", "--quiet", "--force", str(bare), f"HEAD:refs/heads/{branch}", cwd=work)
        return _git("rev-parse", "HEAD", cwd=work).strip()

    def push_app(self, owner: str, name: str, *, branch: str = "main", **extra) -> str:
        """The standard test app: busybox and DOCKERFILE at the root, plus `extra` files."""
        files = {"busybox": BUSYBOX, "Dockerfile": DOCKERFILE}
        files.update({path.replace("__", "/"): content for path, content in extra.items()})
        return self.push(owner, name, files, branch=branch)


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "author@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd or Path.cwd()),
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


@pytest.fixture(scope="session")
def git_server(tmp_path_factory) -> GitServer:
    return GitServer(tmp_path_factory.mktemp("git"))


class _SmartHttp(http.server.BaseHTTPRequestHandler):
    """git's smart HTTP protocol through `git http-backend` (CGI), behind a bearer-ish token
    checked the way GitHub checks a token sent as Basic `x-access-token:<token>`."""

    root: Path
    token: str

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        expected = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "PATH": os.environ["PATH"],
        }
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        output = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
        ).stdout
        head, _, payload = output.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(": ")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                headers.append((key, value))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def private_git_server(git_server):
    """The same repositories over smart HTTP, readable only with the token `s3cret-token`."""
    handler = type("Handler", (_SmartHttp,), {"root": git_server.root, "token": "s3cret-token"})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def builds_env(settings, git_server):
    """Settings for building in this process and in worker processes alike."""
    settings.GIT_BASE_URL = git_server.base_url
    settings.BUILD_HEARTBEAT = 0.5
    # Long enough that a heartbeat on a loaded CI machine is never mistaken for a dead worker;
    # the kill -9 test shortens it.
    settings.BUILD_LEASE = 15
    yield settings
    _clean_build_storage()


def _clean_build_storage() -> None:
    """Leave no built images behind (vfs copies every layer; the disk fills up otherwise)."""
    from builds import cache

    with override_settings(BUILD_CACHE_MAX_MB=-1):
        cache.trim()


@pytest.fixture(scope="session", autouse=True)
def _remove_build_dir():
    yield
    if settings.BUILD_DIR.exists():
        _clean_build_storage()
        _remove_tree(settings.BUILD_DIR)


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    def kill(self) -> None:
        """kill -9 the worker and everything it started, as a power cut would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def worker_environment(database_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tutumweb.settings",
        # The test run's secret key (it signs registry logins and encrypts passwords); the
        # development key is only accepted with DEBUG on.
        "DEBUG": "1",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(settings.DATA_DIR),
        "BUILD_DIR": str(settings.BUILD_DIR),
        "REGISTRY_HOST": settings.REGISTRY_HOST,
        "REGISTRY_URL": settings.REGISTRY_URL,
        "REGISTRY_TOKEN_KEY": str(settings.REGISTRY_TOKEN_KEY),
        "PUBLIC_REGISTRY_URL": settings.PUBLIC_REGISTRY_URL,
        # The test registries on loopback, allowed as the suite allows them (fixtures_registry).
        "INSECURE_REGISTRIES": ",".join(settings.INSECURE_REGISTRIES),
        "OUTBOUND_ALLOW": ",".join(settings.OUTBOUND_ALLOW),
        "GIT_BASE_URL": settings.GIT_BASE_URL,
        "BUILD_HEARTBEAT": str(settings.BUILD_HEARTBEAT),
        "BUILD_LEASE": str(settings.BUILD_LEASE),
        "BUILD_CACHE_MAX_MB": str(settings.BUILD_CACHE_MAX_MB),
        "LOG_LEVEL": "INFO",
    }


def start_worker(log_dir: Path, database_url: str, name: str = "worker") -> WorkerProcess:
    log_path = log_dir / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "build_worker", "--no-startup-delay", "--interval", "0.2"],
        cwd=ROOT,
        env=worker_environment(database_url),
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a kill reaches buildah too
    )
    return WorkerProcess(process, log_path)


def sqlite_url() -> str:
    return f"sqlite:///{connection.settings_dict['NAME']}"


@pytest.fixture
def build_worker(builds_env, transactional_db, tmp_path):
    """One real worker process on the test database."""
    worker = start_worker(tmp_path, sqlite_url())
    yield worker
    worker.stop()


def wait_for_build(uuid, *, states=("Success", "Failed"), seconds: float = 120):
    from records.models import Build

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        build = Build.objects.filter(uuid=uuid).first()
        if build is not None and build.state in states:
            return build
        time.sleep(0.2)
    build = Build.objects.filter(uuid=uuid).first()
    raise AssertionError(
        f"build {uuid} did not reach {states}: {build and build.state}\n{build and build.log}"
    )
