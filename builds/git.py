"""Cloning build sources with git, and saying plainly why a clone failed."""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


class GitError(Exception):
    """A clone or check failed; the message says what to fix."""


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str


def _env(token: str) -> dict:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",  # a missing repository must fail, not wait for a password
        "GIT_ASKPASS": "true",
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",
    }
    if token:
        # In the environment, not on the command line: other users can read argv in ps.
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
        )
    return env


def _run(args: list[str], *, token: str = "", cwd: Path | None = None) -> str:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_env(token),
            capture_output=True,
            text=True,
            timeout=settings.GIT_TIMEOUT,
        )
    except subprocess.TimeoutExpired as error:
        raise GitError(
            f"git did not finish within {settings.GIT_TIMEOUT:.0f} seconds; the git server "
            "may be slow or unreachable. Try again later."
        ) from error
    if result.returncode != 0:
        raise GitError(result.stderr.strip() or f"git exited with status {result.returncode}")
    return result.stdout


def explain(stderr: str, url: str, branch: str) -> str:
    """git's error text → what went wrong and what to do about it."""
    text = stderr.lower()
    if "remote branch" in text and "not found" in text:
        return (
            f"Branch `{branch}` not found in {display_url(url)}. Check the branch name in the "
            "build setting, or push the branch first."
        )
    if any(
        marker in text
        for marker in (
            "repository not found",
            "does not appear to be a git repository",
            "could not read username",
            "authentication failed",
            "terminal prompts disabled",
            "403",
            "404",
            "not found",
        )
    ):
        return (
            f"Could not clone {display_url(url)}: the repository does not exist or this server "
            "has no access to it. Check the build source's owner and repository; a private "
            "repository needs an access token."
        )
    if any(
        marker in text
        for marker in ("could not resolve host", "failed to connect", "connection refused")
    ):
        return (
            f"Could not reach the git server for {display_url(url)}. Check GIT_BASE_URL and the "
            f"network, then try again. ({stderr.strip().splitlines()[-1]})"
        )
    lines = stderr.strip().splitlines()
    return f"Could not clone {display_url(url)}: {lines[-1] if lines else 'git failed'}"


def display_url(url: str) -> str:
    return url.removesuffix(".git") if url.startswith(("https://", "http://")) else url


def _shallow_clone(url: str, branch: str, destination: Path, *options: str, token: str) -> None:
    _run(
        [
            "clone",
            "--depth=1",
            "--single-branch",
            "--no-tags",
            *options,
            f"--branch={branch}",
            "--",
            url,
            str(destination),
        ],
        token=token,
    )


def clone(url: str, branch: str, destination: Path, *, token: str = "") -> Commit:
    """Shallow clone of `branch` into `destination`; returns the commit it checked out."""
    try:
        _shallow_clone(url, branch, destination, token=token)
    except GitError as error:
        raise GitError(explain(str(error), url, branch)) from error
    sha, _, message = _run(["log", "-1", "--format=%H%n%B"], cwd=destination).partition("\n")
    return Commit(sha=sha.strip(), message=message.strip())


def context_and_dockerfile(path: str, files: set[str]) -> tuple[str, str] | None:
    """`dockerfile` (a directory, or a file) → (context dir, Dockerfile path), both relative."""
    relative = path.strip().strip("/")
    if relative in files:  # the setting names the file itself
        return os.path.dirname(relative), relative
    dockerfile = f"{relative}/Dockerfile" if relative else "Dockerfile"
    if dockerfile in files:
        return relative, dockerfile
    return None


def no_dockerfile_message(path: str, branch: str) -> str:
    shown = "/" + path.strip().strip("/")
    return (
        f"No Dockerfile at `{shown}` in branch `{branch}`. The path is the build context in the "
        "repository (`/` is its root) and must hold a file named Dockerfile."
    )


def tracked_files(checkout: Path) -> set[str]:
    return set(_run(["ls-tree", "-r", "--name-only", "HEAD"], cwd=checkout).splitlines())


def check_build_setting(url: str, branch: str, dockerfiles: list[str], *, token: str = "") -> dict:
    """Errors per Dockerfile path ("" key for the branch) for one branch, without a checkout."""
    with tempfile.TemporaryDirectory(prefix="check-", dir=_scratch()) as scratch:
        checkout = Path(scratch) / "repo"
        try:
            # Only the tree is needed to see which files exist: no checkout, no file contents.
            _shallow_clone(
                url, branch, checkout, "--no-checkout", "--filter=blob:none", token=token
            )
        except GitError as error:
            return {"": explain(str(error), url, branch)}
        files = tracked_files(checkout)
    return {
        path: no_dockerfile_message(path, branch)
        for path in dockerfiles
        if context_and_dockerfile(path, files) is None
    }


def _scratch() -> Path:
    path = settings.BUILD_DIR / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path
