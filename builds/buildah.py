"""Running buildah daemonless (chroot isolation, vfs storage under BUILD_DIR) and reading its
errors back as plain words."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from builds import dockerfile as df

TAIL_LINES = 15
LOST_LAYER = "layer not known"


@dataclass
class Outcome:
    returncode: int
    tail: list[str]
    timed_out: bool = False


def command(*args: str) -> list[str]:
    root = settings.BUILD_DIR
    return [
        "buildah",
        "--root",
        str(root / "storage"),
        "--runroot",
        str(root / "run"),
        "--storage-driver",
        "vfs",
        *args,
    ]


def environment(auth_file) -> dict:
    tmp = settings.BUILD_DIR / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "HOME": str(settings.BUILD_DIR),
        "BUILDAH_ISOLATION": "chroot",
        # Only the credentials this build passes: never the worker user's own logins.
        "REGISTRY_AUTH_FILE": str(auth_file),
        "TMPDIR": str(tmp),
        "LC_ALL": "C",
    }


def stream(
    args: list[str],
    *,
    env: dict,
    write: Callable[[str], None],
    timeout: float,
    cwd=None,
    started: Callable[[subprocess.Popen], None] | None = None,
) -> Outcome:
    """Run buildah, passing each output line to `write` as it comes; keep the last lines.

    `started` receives the process, so whoever may need to stop it (a cancel) can.
    """
    process = subprocess.Popen(
        command(*args),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
    )
    if started is not None:
        started(process)
    timed_out = threading.Event()

    def stop() -> None:
        timed_out.set()
        process.kill()

    timer = threading.Timer(timeout, stop)
    timer.start()
    tail: deque[str] = deque(maxlen=60)
    try:
        for line in process.stdout:
            # NUL cannot be stored in PostgreSQL text (logs, failure reasons): show it as �.
            line = line.replace("\x00", "\ufffd")
            write(line)
            tail.append(line.rstrip("\n"))
        process.wait()
    finally:
        timer.cancel()
    return Outcome(process.returncode, list(tail), timed_out.is_set())


def run_quiet(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(*args), env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def lost_a_shared_layer(outcome: Outcome) -> bool:
    """bud failed because a layer it was reusing vanished as it committed: several builds share
    one storage (BUILD_DIR), and one that finishes removes its image with the layers no other
    image holds yet. containers/storage then says "layer not known"; a second bud makes the
    layer afresh."""
    return (
        outcome.returncode != 0
        and not outcome.timed_out
        and any(LOST_LAYER in line for line in outcome.tail[-TAIL_LINES:])
    )


def _output_lines(tail: list[str]) -> list[str]:
    """What the build's own commands printed, without buildah's bookkeeping."""
    noise = re.compile(r"^(STEP \d+/\d+:|Error:|time=|subprocess exited|error building)")
    return [line for line in tail if line.strip() and not noise.match(line)]


def explain_build_failure(outcome: Outcome, dockerfile_text: str) -> str:
    """buildah bud's output → which line failed and why, with the command's last lines."""
    if outcome.timed_out:
        return (
            f"The build took longer than {settings.BUILD_TIMEOUT:.0f} seconds and was stopped. "
            "Make the Dockerfile's steps faster, or raise BUILD_TIMEOUT."
        )
    errors = [line for line in outcome.tail if line.startswith("Error:")]
    error = errors[-1] if errors else ""
    match = re.match(r'Error: building at STEP "(.*?)": (.*)$', error)
    if match:
        step, reason = match.groups()
        line = df.line_of(dockerfile_text, step)
        where = f"at line {line} " if line else ""
        status = re.search(r"exit status (\d+)", reason)
        if status and step.upper().startswith("RUN"):
            last = _output_lines(outcome.tail)[-TAIL_LINES:]
            shown = "\n".join(last) if last else "(it printed nothing)"
            return (
                f"The RUN step {where}exited with status {status.group(1)}: `{step}`. Fix the "
                f"command (or what it needs) and build again. Its last lines of output:\n{shown}"
            )
        if "no such file or directory" in reason and step.upper().startswith(("COPY", "ADD")):
            return (
                f"`{step}` {where}failed: a file it copies is not in the build context (the "
                "Dockerfile's directory in the repository). Check the path, and that the file "
                "is committed to the branch."
            )
        reason = reason.split(" &imagebuilder")[0]
        return f"The step {where}failed: `{step}`: {reason}"
    if LOST_LAYER in error:
        return (
            "Another build on this server removed a layer this build was reusing, as it "
            "finished at the same moment (twice in a row). Nothing is wrong with the "
            "Dockerfile: build again."
        )
    if error.startswith("Error: creating build container"):
        base = re.search(r"creating build container: (.*)$", error).group(1)
        return (
            f"Could not get the base image named in FROM: {base}. Check the image name and tag, "
            "and that this server can reach its registry."
        )
    if error:
        return f"buildah failed: {error.removeprefix('Error: ')}"
    return f"buildah exited with status {outcome.returncode}."


def explain_push_failure(outcome: Outcome, destination: str, external: bool) -> str:
    text = "\n".join(outcome.tail)
    lowered = text.lower()
    host = destination.split("/")[0]
    if any(
        marker in lowered
        for marker in ("unauthorized", "authentication required", "denied", "401", "403")
    ):
        if external:
            return (
                f"The registry {host} rejected the push: it refused the stored credentials or "
                "they may not push to this repository. Update the registry username and "
                "password on the image's edit page, then build again."
            )
        return (
            f"Our registry {host} rejected the push (not authorised). Check that the API and "
            "the registry share the token settings (REGISTRY_TOKEN_*), then build again."
        )
    if any(m in lowered for m in ("connection refused", "no such host", "i/o timeout")):
        return f"Could not reach the registry {host} to push. Check that it is running."
    lines = [line for line in outcome.tail if line.strip()]
    return f"The push to {host} failed: {lines[-1] if lines else 'no output'}"
