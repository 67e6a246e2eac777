"""The fenced code blocks of the README and the docs, with the directives written above them.

A directive is an HTML comment right before a block (blank lines between are fine), invisible
on GitHub and on the docs site::

    <!-- docs: skip "needs a GPU: the judge is a 7B model" -->   not run; the reason is shown
    <!-- docs: setup policy -->         python: a named prelude defines what the text assumes
    <!-- docs: background -->           bash: a server, kept running for the page's next blocks
    <!-- docs: replace "A" "B" -->      the block runs with A replaced by B (a smaller run)
    <!-- docs: allow-error TYPE -->     bash: results with this error type are what the text
                                        shows (any other error in a printed result fails)

A block may have several directives, one comment each.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Block", "blocks_of", "doc_files"]

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
DIRECTIVE = re.compile(r"^<!--\s*docs:(?P<body>.*?)-->\s*$")


@dataclass
class Block:
    """One fenced block: where it is, its language, its text and its directives."""

    path: Path
    line: int
    language: str
    source: str
    skip: str | None = None
    setup: list[str] = field(default_factory=list)
    background: bool = False
    allowed_errors: list[str] = field(default_factory=list)
    replace: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}:{self.language or 'text'}"


def doc_files(root: Path) -> list[Path]:
    """The README and every page of the docs site, in a stable order."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = DIRECTIVE.match(line.strip())
        if directive:
            pending.append(directive["body"].strip())
            i += 1
            continue
        fence = FENCE.match(line)
        if not fence:
            if line.strip():
                pending = []
            i += 1
            continue
        marker, start = fence["fence"], i + 1
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(marker):
            body.append(lines[i][len(fence["indent"]) :])
            i += 1
        i += 1
        language = fence["info"].strip().split(" ")[0].lower() if fence["info"].strip() else ""
        block = Block(path, start, language, "\n".join(body) + "\n")
        for directive_text in pending:
            _apply(block, directive_text)
        pending = []
        blocks.append(block)
    return blocks


def _apply(block: Block, text: str) -> None:
    words = shlex.split(text)
    if not words:
        return
    name, args = words[0], words[1:]
    if name == "skip" and len(args) == 1:
        block.skip = args[0]
    elif name == "setup" and args:
        block.setup.extend(args)
    elif name == "allow-error" and args and block.language == "bash":
        block.allowed_errors.extend(args)
    elif name == "background" and not args:
        block.background = True
    elif name == "replace" and len(args) == 2:
        block.replace.append((args[0], args[1]))
    else:
        raise ValueError(f"{block.path}:{block.line}: unknown docs directive {text!r}")
