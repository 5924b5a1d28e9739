"""Reading the project's Markdown: fenced blocks with their tags, headings as GitHub anchors, links."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[ \t]*(?P<tag>[\w-]*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.M | re.S,
)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
LINK = re.compile(r'(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:[ \t]+"(?P<title>[^"]*)")?\)')


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    tag: str
    body: str

    def commands(self) -> list[tuple[int, str]]:
        """(line number, command) of every non-empty, non-comment line."""
        return [
            (self.line + i + 1, text.strip())
            for i, text in enumerate(self.body.splitlines())
            if text.strip() and not text.strip().startswith("#")
        ]


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        body = (
            textwrap.dedent(match.group("indent") + match.group("body"))
            if match.group("indent")
            else match.group("body")
        )
        found.append(Block(path, line, match.group("lang"), match.group("tag"), body))
    return found


def without_code(text: str) -> str:
    """The text with fenced blocks blanked (their lines kept), so that '# comment' is not a heading."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for match in HEADING.finditer(without_code(path.read_text())):
        anchor = github_anchor(match.group(2))
        count = seen.get(anchor, 0)
        result.add(anchor if count == 0 else f"{anchor}-{count}")
        seen[anchor] = count + 1
    return result


def prose(path: Path) -> str:
    """The text outside code blocks and inline code (blanked, so that offsets and line numbers are kept)."""
    text = without_code(path.read_text())
    return re.sub(r"`[^`\n]*`", lambda m: " " * len(m.group(0)), text)


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link outside code blocks and inline code."""
    text = prose(path)
    return [(text.count("\n", 0, m.start()) + 1, m.group("target")) for m in LINK.finditer(text)]
