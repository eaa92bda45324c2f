"""Docker Hub's autotests: a `sut` service in `docker-compose.test.yml` next to the Dockerfile.

Supported: one `sut` service built from the build context (`build: .` or no `build`), with
`command` (string → run by /bin/sh -c, or a list), optional `entrypoint` and `environment`
(mapping or list of KEY=VALUE). It runs inside the freshly built image before anything is
pushed; a non-zero exit fails the build. Other services (databases for the tests) are not
supported: there is no container runtime here to start them next to the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

FILE_NAME = "docker-compose.test.yml"


class AutotestError(ValueError):
    """The test file is not something we can run; the message says why."""


@dataclass
class TestPlan:
    command: list[str]
    environment: dict[str, str] = field(default_factory=dict)


def _as_list(value, what: str) -> list[str]:
    if isinstance(value, str):
        return ["/bin/sh", "-c", value]
    if isinstance(value, list) and value and all(isinstance(v, str | int) for v in value):
        return [str(v) for v in value]
    raise AutotestError(f"`sut` {what} in {FILE_NAME} must be a string or a list of strings.")


def _environment(value) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list):
        pairs = (str(item).partition("=") for item in value)
        return {key: val for key, _, val in pairs}
    raise AutotestError(f"`sut` environment in {FILE_NAME} must be a mapping or a list.")


def find(context: Path) -> TestPlan | None:
    """The test to run for a build context, or None when it has no test file."""
    path = context / FILE_NAME
    if not path.is_file():
        return None
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise AutotestError(f"{FILE_NAME} is not valid YAML: {error}") from error
    services = (document or {}).get("services") if isinstance(document, dict) else None
    if not isinstance(services, dict) or not isinstance(services.get("sut"), dict):
        raise AutotestError(f"{FILE_NAME} has no `sut` service; autotests run `sut`.")
    others = sorted(name for name in services if name != "sut")
    if others:
        raise AutotestError(
            f"{FILE_NAME} defines services besides `sut` ({', '.join(others)}); only a single "
            "`sut` service running in the built image is supported here."
        )
    sut = services["sut"]
    if "command" not in sut:
        raise AutotestError(f"`sut` in {FILE_NAME} needs a `command` to run.")
    command = _as_list(sut["command"], "command")
    if "entrypoint" in sut:
        command = _as_list(sut["entrypoint"], "entrypoint") + (
            [sut["command"]] if isinstance(sut["command"], str) else command
        )
    return TestPlan(command=command, environment=_environment(sut.get("environment")))
