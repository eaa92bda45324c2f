"""Every relative link and image in the README and docs/ leads somewhere.

A link to a file must name one that exists (relative to the page, or to the repository root
when it starts with `/`), and a `#anchor` into a Markdown page must name one of its headings
as GitHub spells their ids. Links to the web (http, https) and mail addresses are not checked:
this suite makes no request outside the machine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
EXTERNAL = re.compile(r"^(https?|mailto):", re.IGNORECASE)

FENCE = re.compile(r"^ {0,3}(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target "title") and ![alt](target); the target may be wrapped in <...>.
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+[\"'(][^)]*)?\)"
)
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.I)
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ID = re.compile(r"<[a-z]+\b[^>]*?\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.I)


def prose_lines(text: str) -> list[str]:
    """The page's lines outside fenced code blocks, code spans blanked out."""
    lines, fenced = [], None
    for line in text.splitlines():
        fence = FENCE.match(line)
        if fenced:
            if fence and fence.group(1) == fenced:
                fenced = None
            continue
        if fence:
            fenced = fence.group(1)
            continue
        lines.append(CODE_SPAN.sub("``", line))
    return lines


def links(page: Path) -> list[str]:
    found = []
    for line in prose_lines(page.read_text()):
        found += INLINE_LINK.findall(line)
        found += REFERENCE.findall(line)
        found += HTML_LINK.findall(line)
    return [target.strip("<>") for target in found]


def slug(heading: str) -> str:
    """GitHub's id for a heading: its text as rendered (no markup), lower case, punctuation
    dropped except `-` and `_`, each space a `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(?<!\w)_+|_+(?!\w)", "", text)  # _emphasis_, not snake_case
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The ids GitHub gives a page's headings (a repeated one gets -1, -2, ...), and explicit
    HTML ids."""
    seen: dict[str, int] = {}
    ids = set()
    for line in prose_lines(page.read_text()):
        if heading := HEADING.match(line):
            base = slug(heading.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            ids.add(base if count == 0 else f"{base}-{count}")
        ids.update(HTML_ID.findall(line))
    return ids


def problem(page: Path, target: str) -> str | None:
    """What is wrong with a link from `page`, or None when it leads somewhere."""
    path_part, _, anchor = target.partition("#")
    path_part = unquote(path_part.split("?", 1)[0])
    if not path_part:
        destination = page
    elif path_part.startswith("/"):
        destination = ROOT / path_part.lstrip("/")
    else:
        destination = page.parent / path_part
    if not destination.exists():
        return f"{target}: no such file {os.path.relpath(destination, ROOT)}"
    markdown = destination.is_file() and destination.suffix == ".md"
    if anchor and markdown and unquote(anchor).lower() not in anchors(destination):
        return f"{target}: no heading with the id #{anchor} in {destination.name}"
    return None


def relative_links() -> list[tuple[Path, str]]:
    return [
        (page, target) for page in PAGES for target in links(page) if not EXTERNAL.match(target)
    ]


@pytest.mark.parametrize(
    ("page", "target"),
    relative_links(),
    ids=lambda value: value.relative_to(ROOT).as_posix() if isinstance(value, Path) else value,
)
def test_every_relative_link_leads_to_a_file_and_heading(page, target):
    assert problem(page, target) is None, problem(page, target)


def test_the_readme_and_docs_link_their_pages_and_screenshots():
    # Guards the parser: if it stopped finding links, the test above would pass on nothing.
    readme = set(links(ROOT / "README.md"))

    assert {"docs/user-guide.md", "docs/api.md", "docs/operations.md"} <= readme
    assert any(target.startswith("docs/screenshots/") for target in readme)
    assert len(relative_links()) > 50


def test_it_spells_heading_ids_as_github_does():
    assert slug("Set-up: the two commands") == "set-up-the-two-commands"
    assert slug("What `total_count` promises") == "what-total_count-promises"
    assert slug("Tutum's own clients") == "tutums-own-clients"
    assert slug("Deleting tags, the recycle bin and cleanup policies") == (
        "deleting-tags-the-recycle-bin-and-cleanup-policies"
    )
    assert slug("The [API](api.md) and *you*") == "the-api-and-you"


def test_it_reports_a_missing_file_and_a_missing_heading(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n## Its part\n\n## Its part\n")

    assert problem(page, "#its-part") is None
    assert problem(page, "#its-part-1") is None
    assert "no heading" in problem(page, "#its-whole")
    assert "no such file" in problem(page, "other.md")
    assert links(page) == []


def test_it_ignores_code_and_the_web():
    page_text = (
        "See [the guide](guide.md) and [a site](https://example.com).\n"
        "`[not](a-link.md)`\n"
        "```\n[also not](code.md)\n```\n"
        '<img src="pic.png" alt="">\n'
    )
    lines = prose_lines(page_text)
    found = [t for line in lines for t in INLINE_LINK.findall(line) + HTML_LINK.findall(line)]

    assert found == ["guide.md", "https://example.com", "pic.png"]
    assert not EXTERNAL.match("guide.md") and EXTERNAL.match("https://example.com")
