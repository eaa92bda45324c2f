"""One build, start to finish: clone, check, buildah bud, autotests, push, read back.

Runs in a build worker. The log is appended to the database while the build runs (so the
admin can follow it) and a heartbeat says the worker is alive (so a killed worker's build is
failed by `api.builds.reap_stale_builds` instead of staying Building forever).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import socket
import threading
import time
from contextlib import nullcontext
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import Value
from django.db.models.functions import Concat
from django.utils import timezone

from accounts import profiles
from builds import autotests, buildah, git, leases
from builds import cache as build_cache
from builds import dockerfile as df
from records.models import Build, Image, Tag
from registry import client as oci
from registry import untagged
from registry.locks import image_lock
from registry.sync import pushed, tag_fields
from registry.tokens import build_credentials

log = logging.getLogger(__name__)
LOG_LIMIT = 2_000_000  # characters kept per build; the rest is summarised


class BuildFailed(Exception):
    """The build cannot go on; the message is shown to the user as the reason."""


class BuildStopped(BuildFailed):
    """Cancelled (or failed by the reaper) while running: stop quietly, push nothing."""


def _checkpoint(build_log: BuildLog) -> None:
    if build_log.cancelled.is_set():
        raise BuildStopped("The build was stopped; nothing was pushed.")


class BuildLog:
    """Buffers log text and writes it to the build row twice a second, with a heartbeat."""

    def __init__(self, build: Build):
        self.build = build
        self.buffer: list[str] = []
        self.size = 0
        self.truncated = False
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.cancelled = threading.Event()
        self.process = None  # the command running now, stopped if the build is cancelled
        self.thread = threading.Thread(target=self._loop, name=f"build-{build.pk}", daemon=True)

    def __enter__(self) -> BuildLog:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()
        self.flush()

    def track(self, process) -> None:
        self.process = process
        if self.cancelled.is_set():
            process.kill()

    def write(self, text: str) -> None:
        # PostgreSQL text cannot hold NUL; a RUN step printing binary must not break the log.
        text = text.replace("\x00", "\ufffd")
        with self.lock:
            if self.size + len(text) > LOG_LIMIT:
                if not self.truncated:
                    self.buffer.append(
                        "\n[log truncated: it is longer than 2,000,000 characters]\n"
                    )
                    self.truncated = True
                return
            self.buffer.append(text)
            self.size += len(text)

    def say(self, text: str) -> None:
        """A line of our own, set apart from the tools' output."""
        self.write(f"==> {text}\n")

    def flush(self, heartbeat: bool = False) -> None:
        with self.lock:
            chunk, self.buffer = "".join(self.buffer), []
        if chunk:  # appended even after a cancel: the log tells how the build ended
            try:
                Build.objects.filter(pk=self.build.pk).update(log=Concat("log", Value(chunk)))
            except DatabaseError:
                # Losing a piece of log is bad; losing the heartbeat would fail the build.
                log.exception("could not append to the log of build %s", self.build.pk)
        if not (heartbeat or chunk):
            return
        still_building = Build.objects.filter(pk=self.build.pk, state=Build.State.BUILDING).update(
            heartbeat=timezone.now()
        )
        if not still_building and not self.cancelled.is_set():
            # Cancelled, reaped or deleted: stop what runs rather than finish unseen.
            self.cancelled.set()
            if self.process is not None and self.process.poll() is None:
                self.process.kill()

    def _loop(self) -> None:
        last_beat = 0.0
        try:
            while not self.stopped.wait(0.5):
                beat = time.monotonic() - last_beat >= settings.BUILD_HEARTBEAT
                try:
                    self.flush(heartbeat=beat)
                except Exception:  # a busy database must not kill the build; retry next turn
                    log.exception("could not write the log of build %s", self.build.pk)
                    continue
                if beat:
                    last_beat = time.monotonic()
        finally:
            connection.close()


def run(build_id: int) -> str:
    close_old_connections()
    now = timezone.now()
    claimed = Build.objects.filter(pk=build_id, state=Build.State.QUEUED).update(
        state=Build.State.BUILDING, started=now, heartbeat=now, worker=_worker_name()
    )
    if not claimed:
        return "skipped"  # reaped or already run: never build twice
    build = Build.objects.select_related("tag__image__registry").get(pk=build_id)
    leases.announce("build.started", build)
    work = _workspace(build)
    # Other workers sharing BUILD_DIR must not clear buildah's storage under this build.
    with build_cache.in_use():
        state, error = _outcome(build, work)
        leases.finish(build, state, error=error)
        work.remove()
    build_cache.trim()
    return state


def _outcome(build: Build, work: _workspace) -> tuple[str, str]:
    """Run the build; the state it ends in and why, written to its log too. Never raises."""
    with BuildLog(build) as build_log:
        try:
            with work:
                _build(build, work, build_log)
            build_log.say("Build succeeded.")
            return Build.State.SUCCESS, ""
        except BuildStopped as stopped:
            build_log.say(str(stopped))
            return Build.State.FAILED, str(stopped)
        except BuildFailed as failure:
            build_log.say(f"Build failed: {failure}")
            return Build.State.FAILED, str(failure)
        except Exception as failure:  # a bug must still end the build with a reason
            log.exception("build %s crashed", build.pk)
            error = f"The build stopped on an internal error ({type(failure).__name__}: {failure})."
            build_log.say(error)
            return Build.State.FAILED, error


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _workspace:
    """A scratch directory for one build, removed (with its buildah image) afterwards."""

    def __init__(self, build: Build):
        self.path = settings.BUILD_DIR / "work" / str(build.uuid)
        self.local_ref = f"localhost/tutumweb-build-{build.uuid}:latest"
        self.auth_file = self.path / "auth.json"

    def __enter__(self) -> _workspace:
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        self.auth_file.write_text('{"auths": {}}')
        self.env = buildah.environment(self.auth_file)
        return self

    def __exit__(self, *exc) -> None:
        pass  # kept until the outcome is recorded: cleaning up is not the user's wait

    def write_credentials(self, host: str, username: str, password: str) -> None:
        auth = base64.b64encode(f"{username}:{password}".encode()).decode()
        descriptor = os.open(self.auth_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump({"auths": {host: {"auth": auth}}}, file)

    def remove(self) -> None:
        if hasattr(self, "env"):
            buildah.run_quiet("rmi", "--force", self.local_ref, env=self.env)
        shutil.rmtree(self.path, ignore_errors=True)


def _build(build: Build, work: _workspace, build_log: BuildLog) -> None:
    image = build.tag.image
    source = getattr(image, "build_source", None)
    # A build source without a token of its own uses the linked GitHub account of the image's
    # owner or, for a team's image, of the person who started the build.
    token = (source.access_token if source else "") or profiles.github_token_of(
        image.owner or build.triggered_by
    )
    checkout = work.path / "source"

    build_log.say(f"Cloning branch {build.branch} of {git.display_url(build.clone_url)}")
    try:
        commit = git.clone(build.clone_url, build.branch, checkout, token=token)
    except git.GitError as error:
        raise BuildFailed(str(error)) from error
    _checkpoint(build_log)
    Build.objects.filter(pk=build.pk).update(
        commit_sha=commit.sha, commit_message=commit.message[:5000]
    )
    build_log.say(
        f"Commit {commit.sha[:12]}: {commit.message.splitlines()[0] if commit.message else ''}"
    )

    located = git.context_and_dockerfile(build.dockerfile, git.tracked_files(checkout))
    if located is None:
        raise BuildFailed(git.no_dockerfile_message(build.dockerfile, build.branch))
    context = (checkout / located[0]).resolve()
    dockerfile = (checkout / located[1]).resolve()
    if not context.is_relative_to(checkout) or not dockerfile.is_relative_to(checkout):
        raise BuildFailed("The Dockerfile path leads outside the repository (a symlink?).")
    text = dockerfile.read_text(errors="replace")
    try:
        df.check(text)
    except df.DockerfileSyntaxError as error:
        raise BuildFailed(f"{error} Fix the Dockerfile and build again.") from error

    build_log.say(f"Building /{located[1]} (context /{located[0]})")
    outcome = _bud(context, dockerfile, work, build_log)
    _checkpoint(build_log)
    if buildah.lost_a_shared_layer(outcome):
        build_log.say(
            "Another build finished at the same moment and removed a layer this one was "
            "reusing; building once more."
        )
        outcome = _bud(context, dockerfile, work, build_log)
        _checkpoint(build_log)
    if outcome.returncode != 0:
        raise BuildFailed(buildah.explain_build_failure(outcome, text))

    if source is not None and source.autotests != source.Autotests.OFF:
        _autotest(context, work, build_log)

    if not Build.objects.filter(pk=build.pk, state=Build.State.BUILDING).exists():
        # Cancelled, failed by the reaper, or its image deleted: pushing now would even bring
        # a deleted image back through the registry's notification.
        raise BuildStopped("The build was stopped before its push; nothing was pushed.")
    digest = _push(build, image, work, build_log)
    build_log.say(f"Pushed {image.name}:{build.tag.name} ({digest})")
    _read_back(build, image, digest)


def _bud(context: Path, dockerfile: Path, work: _workspace, build_log: BuildLog) -> buildah.Outcome:
    return buildah.stream(
        ["bud", "--isolation", "chroot", "-f", str(dockerfile), "-t", work.local_ref, str(context)],
        env=work.env,
        write=build_log.write,
        timeout=settings.BUILD_TIMEOUT,
        started=build_log.track,
    )


def _autotest(context: Path, work: _workspace, build_log: BuildLog) -> None:
    try:
        plan = autotests.find(context)
    except autotests.AutotestError as error:
        raise BuildFailed(f"Autotests: {error}") from error
    if plan is None:
        build_log.say(f"Autotests: no {autotests.FILE_NAME} next to the Dockerfile, skipped.")
        return
    build_log.say(f"Autotests: running `sut`: {json.dumps(plan.command)}")
    created = buildah.run_quiet("from", "--pull-never", work.local_ref, env=work.env)
    if created.returncode != 0:
        raise BuildFailed(f"Autotests: could not start the built image: {created.stderr.strip()}")
    container = created.stdout.strip().splitlines()[-1]
    env_args = [
        arg for key, value in plan.environment.items() for arg in ("--env", f"{key}={value}")
    ]
    try:
        outcome = buildah.stream(
            ["run", "--isolation", "chroot", *env_args, container, "--", *plan.command],
            env=work.env,
            write=build_log.write,
            timeout=settings.BUILD_TIMEOUT,
            started=build_log.track,
        )
    finally:
        buildah.run_quiet("rm", container, env=work.env)
    _checkpoint(build_log)
    if outcome.returncode != 0:
        last = "\n".join(line for line in outcome.tail[-buildah.TAIL_LINES :] if line.strip())
        raise BuildFailed(
            f"Autotests failed: the `sut` command exited with status {outcome.returncode}, so "
            f"nothing was pushed. Its last lines of output:\n{last or '(it printed nothing)'}"
        )
    build_log.say("Autotests passed.")


def _push(build: Build, image: Image, work: _workspace, build_log: BuildLog) -> str:
    registry = image.registry
    destination = f"{registry.host}/{image.repository}:{build.tag.name}"
    if registry.is_tutum_registry:
        pusher = image.owner or build.triggered_by
        subject = pusher.get_username() if pusher else ""
        username, password = build_credentials(image.repository, subject)
    else:
        username, password = image.registry_username, image.registry_password
        # buildah connects on its own, outside the outbound policy: check the host first
        # (its address may have changed since the image was registered).
        try:
            oci.client_for_image(image).check_reachable()
        except oci.RegistryError as error:
            raise BuildFailed(f"Nothing was pushed: {error}.") from error
    digest_file = work.path / "digest"
    args = ["push", "--digestfile", str(digest_file)]
    if not oci.registry_base_url(registry.host).startswith("https://"):
        args.append("--tls-verify=false")
    if username:
        # In the build's own auth file (0600), not `--creds`: other users can read argv in ps.
        work.write_credentials(registry.host, username, password)
    for attempt in (1, 2):
        build_log.say(f"Pushing to {destination}")
        outcome = buildah.stream(
            [*args, work.local_ref, f"docker://{destination}"],
            env=work.env,
            write=lambda line: build_log.write(line.replace(password, "***") if password else line),
            timeout=settings.BUILD_TIMEOUT,
            started=build_log.track,
        )
        _checkpoint(build_log)
        if not (outcome.returncode and attempt == 1):
            break
        if not _lost_a_race_for_a_layer(outcome):
            break
        build_log.say(
            "The registry was still storing a layer another push was sending at the same "
            "moment; pushing again."
        )
    if outcome.returncode != 0:
        if password:
            outcome.tail = [line.replace(password, "***") for line in outcome.tail]
        raise BuildFailed(
            buildah.explain_push_failure(outcome, destination, not registry.is_tutum_registry)
        )
    return digest_file.read_text().strip()


def _lost_a_race_for_a_layer(outcome: buildah.Outcome) -> bool:
    """Two pushes sending the same layer to one repository at once (two workers building from
    one base): Distribution 2.8 may refuse the manifest of one with MANIFEST_BLOB_UNKNOWN
    while the other's upload of that layer is being committed. Pushed again, the layer is
    there (seen under load in test_build_scaleout.py)."""
    return any("blob unknown" in line for line in outcome.tail)


def _read_back(build: Build, image: Image, digest: str) -> None:
    """The tag's layer as the registry now serves it, not as we think we built it."""
    try:
        manifest = oci.client_for_image(image).get_manifest(image.repository, digest)
    except oci.RegistryError as error:
        raise BuildFailed(f"Pushed, but could not read the image back: {error}") from error
    # Pushed for the person who started the build (for a webhook's, the image's owner). The
    # registry's event for this push may come before or after; this wins, as an event for a
    # digest already recorded changes nothing.
    pusher = build.triggered_by or image.owner
    ours = image.registry.is_tutum_registry
    # On our registry the digest the tag leaves may have no tag left (registry.untagged):
    # recorded under the image's lock, as the registry's event for this push is.
    with image_lock(image.repository) if ours else nullcontext():
        tag = Tag.objects.filter(pk=build.tag_id).first()
        if ours:
            untagged.tag_moves(image, tag, manifest.digest)
        Tag.objects.filter(pk=build.tag_id).update(
            **tag_fields(manifest),
            pushed_by=pusher.get_username() if pusher else "",
            pushed_at=timezone.now(),
        )
        if tag is not None and tag.digest != manifest.digest:
            pushed(image, build.tag.name, manifest.digest, pusher.get_username() if pusher else "")
    Build.objects.filter(pk=build.pk).update(digest=manifest.digest)
