"""Reading Dockerfiles well enough to point at the line a build failed on.

buildah names a failed step by its text (`building at STEP "RUN make"`), not by its line, and
an unknown instruction gets no line at all; users fix Dockerfiles by line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

INSTRUCTIONS = {
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
}
NEEDS_ARGUMENTS = INSTRUCTIONS - {"HEALTHCHECK"}


@dataclass(frozen=True)
class Step:
    line: int  # where the instruction starts, 1-based
    instruction: str  # upper case
    arguments: str  # continuation lines joined with a space

    @property
    def text(self) -> str:
        return f"{self.instruction} {self.arguments}".strip()


class DockerfileSyntaxError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(f"Dockerfile syntax error at line {line}: {message}")
        self.line = line


def _escape_character(lines: list[str]) -> str:
    for line in lines:
        match = re.match(r"\s*#\s*escape\s*=\s*(\S)", line, re.IGNORECASE)
        if match:
            return match.group(1)
        if not re.match(r"\s*#\s*\w+\s*=", line):
            break
    return "\\"


def steps(text: str) -> list[Step]:
    """The instructions of a Dockerfile with the line each starts on."""
    lines = text.splitlines()
    escape = _escape_character(lines)
    result: list[Step] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # comments inside a continued instruction are dropped, as Docker does
        if not current:
            start = number
        continued = stripped.endswith(escape)
        current.append(stripped[:-1].strip() if continued else stripped)
        if not continued:
            result.append(_step(start, " ".join(part for part in current if part)))
            current = []
    if current:
        result.append(_step(start, " ".join(part for part in current if part)))
    return result


def _step(line: int, text: str) -> Step:
    instruction, _, arguments = text.partition(" ")
    return Step(line, instruction.upper(), arguments.strip())


def check(text: str) -> None:
    """Raise DockerfileSyntaxError for the first mistake buildah would stop at."""
    found = steps(text)
    if not found:
        raise DockerfileSyntaxError(1, "the Dockerfile is empty; it needs at least a FROM line.")
    for step in found:
        if step.instruction not in INSTRUCTIONS:
            raise DockerfileSyntaxError(
                step.line,
                f"unknown instruction `{step.instruction}`. Instructions are FROM, RUN, COPY, "
                "ADD, ENV, ARG, LABEL, EXPOSE, VOLUME, WORKDIR, USER, ENTRYPOINT, CMD, and a few "
                "more; check the spelling.",
            )
        if step.instruction in NEEDS_ARGUMENTS and not step.arguments:
            raise DockerfileSyntaxError(
                step.line, f"`{step.instruction}` needs at least one argument."
            )
    first = next(step for step in found if step.instruction != "ARG")
    if first.instruction != "FROM":
        raise DockerfileSyntaxError(
            first.line,
            f"`{first.instruction}` comes before any FROM; a Dockerfile starts with FROM "
            "(only ARG may come first).",
        )


def line_of(text: str, step_text: str) -> int | None:
    """The line of the step buildah calls `step_text` (its own spacing), if it can be found."""

    def normal(value: str) -> str:
        return re.sub(r"\s+", " ", value).strip().upper()

    wanted = normal(step_text)
    for step in steps(text):
        if normal(step.text) == wanted:
            return step.line
    for step in steps(text):
        if wanted.startswith(normal(step.text)) or normal(step.text).startswith(wanted):
            return step.line
    return None
